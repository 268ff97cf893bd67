package sbom

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/closure"
)

func TestParseName(t *testing.T) {
	for _, tc := range []struct{ in, name, version string }{
		{"/nix/store/hhsh84sqv4vcc6q0d69z8m2avq7acjxp-ffmpeg-5.1.9-0+deb12u1", "ffmpeg", "5.1.9-0+deb12u1"},
		{"/nix/store/hhsh84sqv4vcc6q0d69z8m2avq7acjxp-go-ffmpeg-hls-swarm-0.1.0", "go-ffmpeg-hls-swarm", "0.1.0"},
		{"/nix/store/hhsh84sqv4vcc6q0d69z8m2avq7acjxp-glibc-2.36-lib", "glibc", "2.36-lib"},
		{"/nix/store/hhsh84sqv4vcc6q0d69z8m2avq7acjxp-ld-linux-x86-64.so.2", "ld-linux-x86", "64.so.2"},
		{"/nix/store/hhsh84sqv4vcc6q0d69z8m2avq7acjxp-wrapper", "wrapper", ""},
	} {
		n, v := ParseName(tc.in)
		if n != tc.name || v != tc.version {
			t.Errorf("ParseName(%s) = %q %q, want %q %q", tc.in, n, v, tc.name, tc.version)
		}
	}
}

func sri(s string) string {
	h := sha256.Sum256([]byte(s))
	return "sha256-" + base64.StdEncoding.EncodeToString(h[:])
}

func testGraph(t *testing.T) *closure.Graph {
	t.Helper()
	const s = "/nix/store/"
	app := s + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-app-1.2"
	lib := s + "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-libfoo-3.0"
	data := s + "cccccccccccccccccccccccccccccccc-data"
	g, err := closure.New([]string{app}, []*closure.StorePath{
		{Path: app, NarHash: sri("app"), NarSize: 100, References: []string{app, lib, data}},
		{Path: lib, NarHash: sri("lib"), NarSize: 200},
		{Path: data, NarHash: sri("data"), NarSize: 300, References: []string{lib}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestDocument(t *testing.T) {
	g := testGraph(t)
	o := Options{Name: "app:latest (linux/amd64)", Created: time.Unix(1, 0), Tool: "imagegen-test"}
	a, err := Document(g, o)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Document(g, o)
	if !bytes.Equal(a, b) {
		t.Fatal("the same closure gave two different documents")
	}
	var doc document
	if err := json.Unmarshal(a, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.SPDXVersion != "SPDX-2.3" || doc.CreationInfo.Created != "1970-01-01T00:00:01Z" || len(doc.Packages) != 3 {
		t.Fatalf("doc = %+v", doc)
	}
	ids := map[string]bool{"SPDXRef-DOCUMENT": true}
	for _, p := range doc.Packages {
		if ids[p.SPDXID] {
			t.Fatalf("duplicate SPDXID %s", p.SPDXID)
		}
		ids[p.SPDXID] = true
		if len(p.Checksums) != 1 || len(p.Checksums[0].ChecksumValue) != 64 {
			t.Fatalf("package %s checksums = %+v", p.Name, p.Checksums)
		}
	}
	rels := map[string]int{}
	for _, r := range doc.Relationships {
		if !ids[r.SPDXElementID] || !ids[r.RelatedSPDXElement] {
			t.Fatalf("relationship %+v names an unknown element", r)
		}
		rels[r.RelationshipType]++
	}
	// app→lib, app→data, data→lib (app's self-reference dropped), and DESCRIBES app.
	if rels["DEPENDS_ON"] != 3 || rels["DESCRIBES"] != 1 || len(doc.DocumentDescribes) != 1 {
		t.Fatalf("relationships = %v", rels)
	}
	other, _ := Document(g, Options{Name: "other", Created: time.Unix(1, 0), Tool: "imagegen-test"})
	var od document
	_ = json.Unmarshal(other, &od)
	if od.DocumentNamespace == doc.DocumentNamespace {
		t.Fatal("two documents share a namespace")
	}
}

func TestBadNarHash(t *testing.T) {
	g := testGraph(t)
	for _, p := range g.Paths {
		p.NarHash = "md5-xyz"
		break
	}
	if _, err := Document(g, Options{Name: "x"}); err == nil {
		t.Fatal("a non-sha256 NAR hash was accepted")
	}
}

func TestReferrer(t *testing.T) {
	subject := v1.Descriptor{MediaType: types.OCIManifestSchema1, Size: 10, Digest: v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)}}
	r, err := NewReferrer([]byte(`{"spdxVersion":"SPDX-2.3"}`), subject)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := r.RawManifest()
	var m v1.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if m.ArtifactType != string(MediaType) || m.Subject == nil || m.Subject.Digest != subject.Digest ||
		m.Config.MediaType != emptyMediaType || m.Config.Size != 2 || len(m.Layers) != 1 || len(r.Blobs) != 2 {
		t.Fatalf("manifest = %s", raw)
	}
	d, _ := r.Digest()
	want, _, _ := v1.SHA256(bytes.NewReader(raw))
	if d != want {
		t.Fatalf("digest %s, want %s", d, want)
	}
}

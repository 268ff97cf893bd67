package sink

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/moby/moby/client/pkg/versions"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/progress"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

// testImage makes an index of random images, one per arch, each with an SBOM.
func testImage(t *testing.T, arches ...string) Image {
	t.Helper()
	var adds []mutate.IndexAddendum
	for _, a := range arches {
		img, err := random.Image(2048, 2)
		if err != nil {
			t.Fatal(err)
		}
		p := &v1.Platform{OS: "linux", Architecture: a}
		if a == "arm64" {
			p.Variant = "v8"
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			t.Fatal(err)
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: p}})
	}
	idx := mutate.AppendManifests(empty.Index, adds...)
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	sboms := map[v1.Hash][]byte{}
	for _, d := range im.Manifests {
		sboms[d.Digest] = []byte(`{"spdxVersion":"SPDX-2.3","name":"` + d.Platform.Architecture + `"}`)
	}
	return Image{Index: idx, Tags: []string{"sinktest:latest", "sinktest:v1"}, SBOMs: sboms}
}

// entries lists a directory's names, to prove nothing was left behind.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range des {
		out = append(out, d.Name())
	}
	return out
}

func TestParse(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"docker-archive:x.tar", "docker-archive:x.tar"},
		{"oci:dir", "oci:dir"},
		{"registry:127.0.0.1:5000/app:v1", "registry:127.0.0.1:5000/app:v1"},
		{"docker-daemon", "docker-daemon"},
		{"docker-archive:", "needs a file"},
		{"oci", "needs a directory"},
		{"registry:UPPER/x", "not a valid reference"},
		{"tarball:x", "unknown output"},
	} {
		s, err := Parse(tc.in, Options{})
		got := ""
		if err != nil {
			got = err.Error()
		} else {
			got = s.String()
		}
		if !strings.Contains(got, tc.want) {
			t.Errorf("Parse(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDockerArchive(t *testing.T) {
	crane := testenv.RequireBinary(t, "crane")
	dir := t.TempDir()
	ctx := context.Background()

	two := testImage(t, "amd64", "arm64")
	out := filepath.Join(dir, "img.tar")
	err := Write(ctx, &DockerArchive{Path: out}, two)
	if err == nil || !strings.Contains(err.Error(), "holds one platform but 2 were built (linux/amd64, linux/arm64/v8): pass --platform linux/amd64") {
		t.Fatalf("two arches without --platform: %v", err)
	}
	if got := entries(t, dir); len(got) != 0 {
		t.Fatalf("failed write left %v behind", got)
	}
	if err := Write(ctx, &DockerArchive{Path: out, Platform: "linux/riscv64"}, two); err == nil ||
		!strings.Contains(err.Error(), "--platform linux/riscv64 was not built") {
		t.Fatalf("unknown platform: %v", err)
	}

	if err := Write(ctx, &DockerArchive{Path: out, Platform: "linux/arm64"}, two); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(entries(t, dir), " "); got != "img.tar img.tar.spdx.json" {
		t.Fatalf("dir holds %q", got)
	}
	if b, err := exec.Command(crane, "validate", "--tarball", out).CombinedOutput(); err != nil {
		t.Fatalf("crane validate --tarball: %v\n%s", err, b)
	}
	doc, _ := os.ReadFile(out + ".spdx.json")
	if !strings.Contains(string(doc), `"arm64"`) {
		t.Fatalf("sbom beside the tarball is not arm64's: %s", doc)
	}
	// The tarball names every tag.
	if b, err := exec.Command("tar", "-xOf", out, "manifest.json").Output(); err != nil ||
		!strings.Contains(string(b), "sinktest:latest") || !strings.Contains(string(b), "sinktest:v1") {
		t.Fatalf("manifest.json = %s (%v)", b, err)
	}
}

func TestOCILayout(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "layout")
	ctx := context.Background()
	for i := 0; i < 2; i++ { // the second write replaces the first
		img := testImage(t, "amd64", "arm64")
		if err := Write(ctx, &OCILayout{Path: out}, img); err != nil {
			t.Fatal(err)
		}
		idx, err := layout.ImageIndexFromPath(out)
		if err != nil {
			t.Fatal(err)
		}
		if err := validate.Index(idx); err != nil {
			t.Fatalf("validate.Index: %v", err)
		}
		im, _ := idx.IndexManifest()
		if len(im.Manifests) != 1 || im.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "latest" {
			t.Fatalf("index.json = %+v", im)
		}
		want, _ := img.Index.Digest()
		if im.Manifests[0].Digest != want {
			t.Fatalf("layout holds %s, want %s", im.Manifests[0].Digest, want)
		}
	}
	if got := strings.Join(entries(t, dir), " "); got != "layout layout.amd64.spdx.json layout.arm64.spdx.json" {
		t.Fatalf("dir holds %q", got)
	}
	// A directory that is not a layout is never replaced.
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "keep"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Write(ctx, &OCILayout{Path: other}, testImage(t, "amd64")); err == nil || !strings.Contains(err.Error(), "not an OCI layout") {
		t.Fatalf("non-layout dir: %v", err)
	}
}

// countingRegistry is an in-process registry that counts blob uploads it receives.
func countingRegistry(t *testing.T) (addr string, uploads *atomic.Int64) {
	t.Helper()
	uploads = &atomic.Int64{}
	reg := registry.New(registry.WithReferrersSupport(true), registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/blobs/uploads/") && (r.Method == http.MethodPost || r.Method == http.MethodPatch) && r.ContentLength != 0 {
			uploads.Add(1)
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), uploads
}

func TestRegistry(t *testing.T) {
	crane := testenv.RequireBinary(t, "crane")
	addr, uploads := countingRegistry(t)
	ctx := context.Background()
	img := testImage(t, "amd64", "arm64")
	ref := addr + "/sinktest:latest"
	s, err := Parse("registry:"+ref, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.(Checker).Check(ctx); err != nil {
		t.Fatal(err)
	}
	if err := Write(ctx, s, img); err != nil {
		t.Fatal(err)
	}
	first := uploads.Load()
	if first == 0 {
		t.Fatal("no blob was uploaded")
	}
	if b, err := exec.Command(crane, "validate", "--remote", ref).CombinedOutput(); err != nil {
		t.Fatalf("crane validate --remote: %v\n%s", err, b)
	}
	want, _ := img.Index.Digest()
	for _, tag := range []string{"latest", "v1"} {
		r, _ := name.ParseReference(addr + "/sinktest:" + tag)
		d, err := remote.Head(r)
		if err != nil || d.Digest != want {
			t.Fatalf("tag %s = %v (%v), want %s", tag, d, err, want)
		}
	}
	im, _ := img.Index.IndexManifest()
	for _, m := range im.Manifests {
		dg, _ := name.NewDigest(addr + "/sinktest@" + m.Digest.String())
		refs, err := remote.Referrers(dg)
		if err != nil {
			t.Fatal(err)
		}
		rm, _ := refs.IndexManifest()
		if len(rm.Manifests) != 1 {
			t.Fatalf("referrers of %s = %+v", m.Digest, rm.Manifests)
		}
		// (ggcr's test registry reports config.mediaType as artifactType; read the manifest itself.)
		art, _ := name.NewDigest(addr + "/sinktest@" + rm.Manifests[0].Digest.String())
		got, err := remote.Get(art)
		if err != nil {
			t.Fatal(err)
		}
		var am v1.Manifest
		if err := json.Unmarshal(got.Manifest, &am); err != nil {
			t.Fatal(err)
		}
		if am.ArtifactType != "application/spdx+json" || am.Subject == nil || am.Subject.Digest != m.Digest ||
			len(am.Layers) != 1 || am.Layers[0].MediaType != "application/spdx+json" {
			t.Fatalf("sbom referrer manifest = %s", got.Manifest)
		}
	}
	// A second push of the same index sends no blob again.
	if err := Write(ctx, s, img); err != nil {
		t.Fatal(err)
	}
	if again := uploads.Load() - first; again != 0 {
		t.Fatalf("second push uploaded %d blobs, want 0", again)
	}
}

func TestRegistryUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // now a closed port
	s, _ := Parse("registry:"+addr+"/x:latest", Options{})
	err = s.(Checker).Check(context.Background())
	if err == nil || !strings.Contains(err.Error(), "is unreachable") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("Check = %v", err)
	}
	if err := Write(context.Background(), s, testImage(t, "amd64")); err == nil {
		t.Fatal("push to a closed port succeeded")
	}
}

func TestDockerDaemon(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a Docker engine")
	}
	host := testenv.Docker(t)
	docker := testenv.RequireBinary(t, "docker")
	img := testImage(t, "amd64")
	img.Tags = []string{"sinktest-daemon:latest", "sinktest-daemon:v1"}
	s := &DockerDaemon{Host: host}
	if err := s.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := Write(context.Background(), s, img); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = exec.Command(docker, "-H", host, "rmi", "sinktest-daemon:latest", "sinktest-daemon:v1").Run()
	})
	one, _ := img.Index.IndexManifest()
	im, _ := img.Index.Image(one.Manifests[0].Digest)
	cfg, _ := im.ConfigName()
	for _, tag := range img.Tags {
		b, err := exec.Command(docker, "-H", host, "image", "inspect", "-f", "{{.Id}}", tag).CombinedOutput()
		if err != nil || strings.TrimSpace(string(b)) != cfg.String() {
			t.Fatalf("docker image inspect %s = %s (%v), want %s", tag, b, err, cfg)
		}
	}
	// The temporary tag the image was loaded under is gone.
	if b, err := exec.Command(docker, "-H", host, "image", "ls", "--format", "{{.Repository}}:{{.Tag}}").CombinedOutput(); err != nil ||
		strings.Contains(string(b), "imagegen-staged") {
		t.Fatalf("docker image ls: %v\n%s", err, b)
	}
	bad := &DockerDaemon{Host: "unix://" + filepath.Join(t.TempDir(), "none.sock")}
	if err := bad.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "does not answer") {
		t.Fatalf("Check of a missing engine = %v", err)
	}
}

func TestNoSBOMBesideStoreOutputs(t *testing.T) {
	store := t.TempDir()
	t.Setenv("NIX_STORE", store)
	out := filepath.Join(store, "0123456789abcdfghijklmnpqrsvwxyz-img.tar")
	if err := Write(context.Background(), &DockerArchive{Path: out}, testImage(t, "amd64")); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(entries(t, store), " "); got != filepath.Base(out) {
		t.Fatalf("store holds %q, want only the tarball", got)
	}
}

// bearerRegistry is an in-process registry that answers every /v2/ request without a valid
// Bearer token with a Bearer challenge; its token endpoint (/token, same host) hands out a token
// only for basic auth user:pass.
func bearerRegistry(t *testing.T, user, pass string) string {
	t.Helper()
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	const token = "imagegen-test-token"
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			if u, p, ok := r.BasicAuth(); !ok || u != user || p != pass {
				http.Error(w, "bad credentials", http.StatusUnauthorized)
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]string{"token": token})
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+srv.URL+`/token",service="test"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED"}]}`, http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// TestRegistryBearerWithoutCredentials is the regression test of the nil-authenticator panic:
// against a registry that answers with a Bearer challenge, the pre-build check and the push
// without credentials fail with a line naming `docker login`; with a config.json they work.
func TestRegistryBearerWithoutCredentials(t *testing.T) {
	addr := bearerRegistry(t, "u", "p")
	t.Setenv("HOME", t.TempDir())
	t.Setenv("DOCKER_CONFIG", t.TempDir()) // no config.json: anonymous
	s, err := Parse("registry:"+addr+"/sinktest:latest", Options{})
	if err != nil {
		t.Fatal(err)
	}
	img := testImage(t, "amd64")
	ctx := context.Background()
	for what, f := range map[string]func() error{
		"Check": func() error { return s.(Checker).Check(ctx) },
		"Write": func() error { return Write(ctx, s, img) },
	} {
		err := f()
		if err == nil || !strings.Contains(err.Error(), "refused to push to "+addr+"/sinktest without credentials (401 Unauthorized): log in with `docker login "+addr+"`") {
			t.Fatalf("%s without credentials = %v", what, err)
		}
	}
	cfg := t.TempDir()
	if err := os.WriteFile(filepath.Join(cfg, "config.json"), []byte(`{"auths":{"`+addr+`":{"auth":"dTpw"}}}`), 0o600); err != nil { // u:p
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", cfg)
	if err := s.(Checker).Check(ctx); err != nil {
		t.Fatalf("Check with credentials: %v", err)
	}
	if err := Write(ctx, s, img); err != nil {
		t.Fatalf("Write with credentials: %v", err)
	}
}

// TestPushProgress pushes two platforms of several layers to a loopback registry with the
// progress lines of a non-terminal: go-containerregistry's own total grows during the push, but
// the lines keep the total PushSize fixed from the first, their bytes never fall, and they end
// at 100 %; a fresh push's last update from go-containerregistry equals PushSize.
func TestPushProgress(t *testing.T) {
	addr, _ := countingRegistry(t)
	var adds []mutate.IndexAddendum
	for _, a := range []string{"amd64", "arm64"} {
		img, err := random.Image(256<<10, 6)
		if err != nil {
			t.Fatal(err)
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: a}}})
	}
	img := Image{Index: mutate.AppendManifests(empty.Index, adds...)}
	total, err := PushSize(img.Index)
	if err != nil {
		t.Fatal(err)
	}
	var buf strings.Builder
	r := progress.New(&buf, false)
	ch, finish := r.Updates("push", total)
	raw := make(chan v1.Update, 64)
	var ggcrTotals []int64
	var last v1.Update
	forwarded := make(chan struct{})
	go func() {
		defer close(forwarded)
		for u := range raw {
			ggcrTotals = append(ggcrTotals, u.Total)
			if u.Error == nil {
				last = u
			}
			ch <- u
		}
	}()
	s, _ := Parse("registry:"+addr+"/progress:latest", Options{})
	s.(*Registry).Progress = raw
	err = Write(context.Background(), s, img)
	<-forwarded // ggcr closes the channel when the push returns
	finish(err)
	if err != nil {
		t.Fatal(err)
	}
	if last.Complete != total || last.Total != total {
		t.Fatalf("go-containerregistry ended at %d of %d, PushSize says %d", last.Complete, last.Total, total)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	re := regexp.MustCompile(`^push: (\d+)% \((\d+) of (\d+) bytes\)$`)
	prevPct, prevCur := -1, int64(-1)
	for _, l := range lines {
		m := re.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("unexpected line %q in\n%s", l, buf.String())
		}
		pct, _ := strconv.Atoi(m[1])
		cur, _ := strconv.ParseInt(m[2], 10, 64)
		tot, _ := strconv.ParseInt(m[3], 10, 64)
		if tot != total || pct < prevPct || cur < prevCur {
			t.Fatalf("line %q after %d%% / %d bytes (total %d):\n%s", l, prevPct, prevCur, total, buf.String())
		}
		prevPct, prevCur = pct, cur
	}
	if prevPct != 100 || prevCur != total {
		t.Fatalf("progress ended at %q", lines[len(lines)-1])
	}
	t.Logf("%d lines, total %d fixed; go-containerregistry's own total went %d → %d", len(lines), total, ggcrTotals[0], ggcrTotals[len(ggcrTotals)-1])
}

// TestWriteAllTogether: outputs are in place together or not at all. A second output that
// fails while it is staged (a platform that was not built; a registry that refuses the
// manifests) or while it is committed (a registry that refuses the tag) leaves no trace of the
// first output, an OCI layout with its SBOMs.
func TestWriteAllTogether(t *testing.T) {
	ctx := context.Background()
	img := testImage(t, "amd64", "arm64")
	manifestPUT := func(byTag bool) func(*http.Request) bool {
		return func(r *http.Request) bool {
			if r.Method != http.MethodPut || !strings.Contains(r.URL.Path, "/manifests/") {
				return false
			}
			return !byTag || !strings.Contains(r.URL.Path, "/manifests/sha256")
		}
	}
	full := testenv.FailingRegistry(t, manifestPUT(false))
	noTags := testenv.FailingRegistry(t, manifestPUT(true))
	for _, tc := range []struct {
		name   string
		second Sink
		want   string
	}{
		{"second not built", &DockerArchive{Path: "x.tar", Platform: "linux/riscv64"}, "--platform linux/riscv64 was not built"},
		{"registry refuses manifests", &Registry{Ref: mustRef(t, full+"/x:latest")}, "storage full (no output was written)"},
		{"registry refuses the tag", &Registry{Ref: mustRef(t, noTags+"/x:latest")}, "storage full (no output was written)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if da, ok := tc.second.(*DockerArchive); ok {
				da.Path = filepath.Join(dir, da.Path)
			}
			err := WriteAll(ctx, img, &OCILayout{Path: filepath.Join(dir, "layout")}, tc.second)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("WriteAll = %v, want %q", err, tc.want)
			}
			if got := entries(t, dir); len(got) != 0 {
				t.Fatalf("the first output was committed or left behind: %v", got)
			}
		})
	}
	// Both work: both are in place.
	dir := t.TempDir()
	if err := WriteAll(ctx, img, &OCILayout{Path: filepath.Join(dir, "layout")}, &DockerArchive{Path: filepath.Join(dir, "x.tar"), Platform: "linux/amd64"}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(entries(t, dir), " "); got != "layout layout.amd64.spdx.json layout.arm64.spdx.json x.tar x.tar.spdx.json" {
		t.Fatalf("dir holds %q", got)
	}
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestOutputChecks: outputs that cannot be written are refused before the build, and the
// check leaves nothing behind.
func TestOutputChecks(t *testing.T) {
	dir := t.TempDir()
	ro := testenv.ReadOnlyDir(t)
	notLayout := filepath.Join(dir, "notlayout")
	if err := os.MkdirAll(notLayout, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(notLayout, "keep"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		sink Checker
		want string
	}{
		{&DockerArchive{Path: dir}, "is a directory: name a file"},
		{&DockerArchive{Path: filepath.Join(ro, "x.tar")}, "cannot write in " + ro},
		{&OCILayout{Path: notLayout}, "is a non-empty directory that is not an OCI layout"},
		{&OCILayout{Path: filepath.Join(ro, "layout")}, "cannot write in " + ro},
		{&OCILayout{Path: filepath.Join(notLayout, "keep")}, "exists and is not a directory"},
	} {
		err := tc.sink.Check(ctx)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Check %v = %v, want %q", tc.sink, err, tc.want)
		}
	}
	if got := strings.Join(entries(t, dir), " "); got != "notlayout" {
		t.Fatalf("checks left %q", got)
	}
	if err := (&DockerArchive{Path: filepath.Join(dir, "ok.tar")}).Check(ctx); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(entries(t, dir), " "); got != "notlayout" {
		t.Fatalf("checks left %q", got)
	}
}

// TestZstdEngine: zstd layers are refused, in one line before the build, for docker-daemon and
// docker-archive when the engine is older than Docker 23 (this machine's Docker 20.10 cannot
// load them); gzip is not.
func TestZstdEngine(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a Docker engine")
	}
	host := testenv.Docker(t)
	api, _, ok := engineAPI(context.Background(), host, 30*time.Second)
	if !ok {
		t.Fatalf("the engine at %s does not answer", host)
	}
	old := versions.LessThan(api, zstdAPIVersion)
	tarPath := filepath.Join(t.TempDir(), "img.tar")
	for _, out := range []string{"docker-daemon", "docker-archive:" + tarPath} {
		for _, c := range []string{"gzip", "zstd"} {
			sk, err := Parse(out, Options{DockerHost: host, Compression: c})
			if err != nil {
				t.Fatal(err)
			}
			err = sk.(Checker).Check(context.Background())
			refused := err != nil && strings.Contains(err.Error(), "cannot load zstd layers") && !strings.Contains(err.Error(), "\n")
			if want := c == "zstd" && old; refused != want || (!want && err != nil) {
				t.Errorf("%s with %s on engine API %s: %v (want refused: %v)", out, c, api, err, want)
			}
		}
	}
	if err := checkZstd("docker-daemon", "unix:///x", "1.41"); err == nil {
		t.Error("API 1.41 (Docker 20.10) accepted zstd")
	}
	if err := checkZstd("docker-daemon", "unix:///x", "1.43"); err != nil {
		t.Errorf("API 1.43: %v", err)
	}
}

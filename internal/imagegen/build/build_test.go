package build

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/imagegentest"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/inspect"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/spec"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

// newSpec is the spec the tests build: the main binary image of profiles/images.
func newSpec(t *testing.T, roots map[string][]string, epoch int64) *spec.Spec {
	t.Helper()
	s, err := spec.LoadFile(filepath.Join(imagegentest.RepoRoot(t), "profiles", "images", "go-ffmpeg-hls-swarm.json"))
	if err != nil {
		t.Fatal(err)
	}
	s.Roots = roots
	s.Arches = nil
	s.Created = time.Unix(epoch, 0).UTC()
	s.SetDefaults()
	if err := s.Validate("/nix/store"); err != nil {
		t.Fatal(err)
	}
	return s
}

func digests(t *testing.T, r *Result) (index string, manifests, configs []string) {
	t.Helper()
	d, err := r.Index.Digest()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range r.Arches {
		m, _ := a.Image.Digest()
		c, _ := a.Image.ConfigName()
		manifests = append(manifests, m.String())
		configs = append(configs, c.String())
	}
	return d.String(), manifests, configs
}

func TestBuildTwoArches(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Go for two arches and Nix store paths")
	}
	roots := map[string][]string{
		"amd64": {imagegentest.SwarmClosure(t, "amd64")},
		"arm64": {imagegentest.SwarmClosure(t, "arm64")},
	}
	ctx := context.Background()
	s := newSpec(t, roots, 1)
	s.Annotations = map[string]string{"test.annotation": "yes"}
	res, err := Build(ctx, s, Options{Tool: "imagegen-test", CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(res.Index); err != nil {
		t.Fatalf("validate.Index: %v", err)
	}
	im, _ := res.Index.IndexManifest()
	if im.Annotations["org.opencontainers.image.source"] == "" || im.Annotations["test.annotation"] != "yes" {
		t.Fatalf("index annotations = %v", im.Annotations)
	}
	if len(im.Manifests) != 2 || im.Manifests[0].Platform.Architecture != "amd64" ||
		im.Manifests[1].Platform.Architecture != "arm64" || im.Manifests[1].Platform.Variant != "v8" {
		t.Fatalf("index = %+v", im.Manifests)
	}
	for _, a := range res.Arches {
		if len(a.Graph.Paths) < 3 {
			t.Fatalf("%s closure has %d paths, want ≥ 3", a.Name, len(a.Graph.Paths))
		}
		layers, _ := a.Image.Layers()
		if len(layers) != len(a.Plan.Layers)+1 || len(layers) > s.MaxLayers {
			t.Fatalf("%s: %d layers for a plan of %d (cap %d)", a.Name, len(layers), len(a.Plan.Layers), s.MaxLayers)
		}
		// Read the image back: every store path of the closure is in exactly one layer, and
		// the customisation layer holds /etc/passwd, /tmp and the /bin link.
		seen := map[string]int{}
		var custom []string
		for _, l := range layers {
			rep, err := inspectLayer(l)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range rep.StorePaths {
				seen[p]++
			}
			if len(rep.StorePaths) == 0 {
				custom = rep.Other
			}
		}
		for p := range a.Graph.Paths {
			if seen[p] != 1 {
				t.Errorf("%s: store path %s is in %d layers", a.Name, p, seen[p])
			}
		}
		for _, want := range []string{"/etc/passwd", "/etc/group", "/tmp", "/bin/go-ffmpeg-hls-swarm"} {
			if !slices.Contains(custom, want) {
				t.Errorf("%s: customisation layer %v lacks %s", a.Name, custom, want)
			}
		}
		cf, _ := a.Image.ConfigFile()
		c := cf.Config
		if cf.Architecture != a.Name || c.User != "65534:65534" || c.Healthcheck == nil || c.Healthcheck.Test[0] != "CMD" ||
			c.Labels["org.opencontainers.image.title"] != "go-ffmpeg-hls-swarm" || !slices.Contains(c.Env, "PATH=/bin") ||
			!cf.Created.Time.Equal(time.Unix(1, 0)) {
			t.Errorf("%s config = %+v", a.Name, cf)
		}
		// The standard labels and the spec's annotations are the manifest's annotations.
		m, _ := a.Image.Manifest()
		if m.Annotations["org.opencontainers.image.title"] != "go-ffmpeg-hls-swarm" ||
			m.Annotations["org.opencontainers.image.created"] != "1970-01-01T00:00:01Z" || m.Annotations["test.annotation"] != "yes" ||
			m.Annotations["swarm.deployment-type"] != "" {
			t.Errorf("%s manifest annotations = %v", a.Name, m.Annotations)
		}
		var doc struct {
			Packages []struct{ Name string } `json:"packages"`
		}
		if err := json.Unmarshal(a.SBOM, &doc); err != nil || len(doc.Packages) != len(a.Graph.Paths) {
			t.Errorf("%s sbom: %d packages (%v)", a.Name, len(doc.Packages), err)
		}
	}

	// The same inputs give the same digests (with and without the cache); another
	// SOURCE_DATE_EPOCH gives others.
	idx1, man1, cfg1 := digests(t, res)
	s2 := newSpec(t, roots, 1)
	s2.Annotations = s.Annotations
	again, err := Build(ctx, s2, Options{Tool: "imagegen-test"})
	if err != nil {
		t.Fatal(err)
	}
	idx2, man2, cfg2 := digests(t, again)
	if idx1 != idx2 || !slices.Equal(man1, man2) || !slices.Equal(cfg1, cfg2) {
		t.Fatalf("same inputs, different digests: %s %v %v vs %s %v %v", idx1, man1, cfg1, idx2, man2, cfg2)
	}
	later, err := Build(ctx, newSpec(t, roots, 1700000000), Options{Tool: "imagegen-test"})
	if err != nil {
		t.Fatal(err)
	}
	idx3, man3, cfg3 := digests(t, later)
	if idx3 == idx1 || man3[0] == man1[0] || cfg3[0] == cfg1[0] {
		t.Fatalf("another SOURCE_DATE_EPOCH kept the digest %s", idx3)
	}
	t.Logf("index %s (epoch 1), %s (epoch 1700000000)", idx1, idx3)
}

func inspectLayer(l v1.Layer) (inspect.Layer, error) {
	// inspect reads whole images; a one-layer view is enough here.
	rep, err := inspect.LayerContents(l)
	return rep, err
}

// update rewrites the golden digests: go test ./internal/imagegen/build -run TestFixedImageDigest -update
var update = flag.Bool("update", false, "rewrite testdata/fixed-image.golden.json with the digests built now")

// fixedDigests are the digests of the fixed test image, pinned in testdata/fixed-image.golden.json.
type fixedDigests struct {
	Root     string `json:"root"`
	Index    string `json:"index"`
	Manifest string `json:"manifest"`
	Config   string `json:"config"`
}

// TestFixedImageDigest builds an image whose inputs are fixed (testdata and Nix only) and
// compares its digests with the golden file: any change of the bytes (klauspost/compress,
// archive/tar, the compression level, the tar format, the config) fails here, so it is made
// on purpose, with -update. It also prints the digests for `make imagegen-digest`.
func TestFixedImageDigest(t *testing.T) {
	root := imagegentest.FixedClosure(t)
	s := &spec.Spec{Name: "imagegen-fixed", Roots: map[string][]string{"amd64": {root}},
		Entrypoint: []string{"/bin/imagegen-fixed"}, Created: time.Unix(1, 0).UTC()}
	s.SetDefaults()
	if err := s.Validate("/nix/store"); err != nil {
		t.Fatal(err)
	}
	res, err := Build(context.Background(), s, Options{Tool: "imagegen"})
	if err != nil {
		t.Fatal(err)
	}
	idx, man, cfg := digests(t, res)
	line := fmt.Sprintf("imagegen fixed test image (root %s): index %s manifest %s config %s", root, idx, man[0], cfg[0])
	t.Log(line)
	if f := os.Getenv("IMAGEGEN_DIGEST_FILE"); f != "" {
		if err := os.WriteFile(f, []byte(line+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := fixedDigests{Root: root, Index: idx, Manifest: man[0], Config: cfg[0]}
	golden := filepath.Join("testdata", "fixed-image.golden.json")
	if *update {
		b, _ := json.MarshalIndent(got, "", "  ")
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("updated %s", golden)
		return
	}
	b, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read the golden digests: %v (create them with -update)", err)
	}
	var want fixedDigests
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatalf("%s: %v", golden, err)
	}
	if got != want {
		t.Fatalf("the fixed test image changed: every published digest would change.\n got  %+v\n want %+v\n"+
			"If the change is intended (a new klauspost/compress, Go, layer format or config), run\n"+
			"  go test ./internal/imagegen/build -run TestFixedImageDigest -update\nand commit %s.", got, want, golden)
	}
}

func TestClosureFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Nix store paths")
	}
	root := imagegentest.FixedClosure(t)
	nix := testenv.RequireBinary(t, "nix")
	out, err := exec.Command(nix, "path-info", "--json", "--recursive", root).Output()
	if err != nil {
		t.Fatal(err)
	}
	pathInfo := filepath.Join(t.TempDir(), "closure.json")
	if err := os.WriteFile(pathInfo, out, 0o644); err != nil {
		t.Fatal(err)
	}
	fromNix, err := Closure(context.Background(), &spec.Spec{Roots: map[string][]string{"amd64": {root}}}, "amd64", "")
	if err != nil {
		t.Fatal(err)
	}
	fromFile, err := Closure(context.Background(), &spec.Spec{Closures: map[string]string{"amd64": pathInfo}}, "amd64", "")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(fromNix.SortedPaths(), fromFile.SortedPaths()) || !slices.Equal(fromFile.Roots, []string{root}) {
		t.Fatalf("closure file gave %v (roots %v), nix gave %v", fromFile.SortedPaths(), fromFile.Roots, fromNix.SortedPaths())
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte("[{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Closure(context.Background(), &spec.Spec{Closures: map[string]string{"amd64": bad}}, "amd64", ""); err == nil ||
		!strings.Contains(err.Error(), "bad.json") {
		t.Fatalf("invalid closure JSON: %v", err)
	}
}

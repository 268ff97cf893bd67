package inspect

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

func tarLayer(t *testing.T, names ...string) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		h := &tar.Header{Name: n, Mode: 0o755, Typeflag: tar.TypeDir}
		if !strings.HasSuffix(n, "/") {
			h = &tar.Header{Name: n, Mode: 0o644, Typeflag: tar.TypeReg, Size: 2}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			_, _ = tw.Write([]byte("hi"))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

const (
	appPath = "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-app-1.0"
	libPath = "/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-lib-2.0"
)

func testImage(t *testing.T) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image,
		tarLayer(t, "nix/", "nix/store/", "nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-lib-2.0/", "nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-lib-2.0/lib.so"),
		tarLayer(t, "nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-app-1.0/bin/app"),
		tarLayer(t, "etc/", "etc/passwd", "tmp/", "bin/app"),
	)
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.Entrypoint = []string{"/bin/app"}
	cf.Config.User = "65534:65534"
	cf.Config.Labels = map[string]string{"swarm.profile": "default"}
	cf.Config.Healthcheck = &v1.HealthConfig{Test: []string{"CMD", "/bin/app", "healthcheck"}}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func check(t *testing.T, rep *Report, want v1.Image) {
	t.Helper()
	if len(rep.Images) != 1 {
		t.Fatalf("%d images", len(rep.Images))
	}
	ir := rep.Images[0]
	d, _ := want.Digest()
	if ir.Digest != d.String() || ir.Platform != "linux/amd64" || len(ir.Layers) != 3 {
		t.Fatalf("image = %+v", ir)
	}
	if got := strings.Join(ir.Layers[0].StorePaths, " "); got != libPath {
		t.Errorf("layer 1 store paths = %q", got)
	}
	if got := strings.Join(ir.Layers[1].StorePaths, " "); got != appPath {
		t.Errorf("layer 2 store paths = %q", got)
	}
	if got := strings.Join(ir.Layers[2].Other, " "); got != "/bin/app /etc /etc/passwd /tmp" || len(ir.Layers[2].StorePaths) != 0 {
		t.Errorf("layer 3 = %+v", ir.Layers[2])
	}
	var buf bytes.Buffer
	if err := rep.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"linux/amd64", `healthcheck ["CMD","/bin/app","healthcheck"]`, "label       swarm.profile=default",
		"layers      3", appPath, "/bin /etc /tmp", "user        65534:65534"} {
		if !strings.Contains(buf.String(), s) {
			t.Errorf("text output lacks %q:\n%s", s, buf.String())
		}
	}
}

func TestInspect(t *testing.T) {
	ctx := context.Background()
	img := testImage(t)
	dir := t.TempDir()

	tarPath := filepath.Join(dir, "img.tar")
	if err := tarball.WriteToFile(tarPath, name.MustParseReference("app:latest"), img); err != nil {
		t.Fatal(err)
	}
	layoutPath := filepath.Join(dir, "layout")
	lp, err := layout.Write(layoutPath, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendIndex(mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: img})); err != nil {
		t.Fatal(err)
	}
	ref := testenv.Registry(t) + "/app:latest"
	r, _ := name.ParseReference(ref)
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{tarPath, layoutPath, ref} {
		t.Run(filepath.Base(target), func(t *testing.T) {
			rep, err := Inspect(ctx, target, Options{Contents: true})
			if err != nil {
				t.Fatal(err)
			}
			check(t, rep, img)
		})
	}
	for _, bad := range []string{filepath.Join(dir, "missing.tar"), dir, "UPPER/case::"} {
		if _, err := Inspect(ctx, bad, Options{}); err == nil {
			t.Errorf("Inspect(%s) succeeded", bad)
		}
	}
}

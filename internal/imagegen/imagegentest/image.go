package imagegentest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/spec"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

// Imagegen builds the imagegen CLI (./cmd/imagegen) into a temporary directory and returns it.
func Imagegen(t testing.TB) string {
	t.Helper()
	goBin := testenv.RequireBinary(t, "go")
	bin := filepath.Join(t.TempDir(), "imagegen")
	build := exec.Command(goBin, "build", "-o", bin, "./cmd/imagegen")
	build.Dir, build.Env = RepoRoot(t), append(os.Environ(), "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/imagegen: %v\n%s", err, b)
	}
	return bin
}

// LoadImage builds the image of profiles/images/SPEC.json for amd64 from roots with the imagegen
// CLI, loads it into the Docker engine at host as NAME:tag (NAME from the spec), and removes it
// at cleanup. cache is imagegen's layer cache (XDG_CACHE_HOME): images built with one cache
// share the layers of their common store paths. It returns NAME:tag.
func LoadImage(t testing.TB, imagegen, host, spec, tag, cache string, roots ...string) string {
	t.Helper()
	specFile := filepath.Join(RepoRoot(t), "profiles", "images", spec+".json")
	args := []string{"build", "-q", "--spec", specFile, "--tag", tag, "--docker-host", host, "--output", "docker-daemon"}
	for _, r := range roots {
		args = append(args, "--root", "amd64="+r)
	}
	ref := specName(t, specFile) + ":" + tag
	t.Cleanup(func() { _, _ = Docker(t, host, "rmi", "-f", ref) })
	cmd := exec.Command(imagegen, args...)
	cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+cache)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("imagegen build %s: %v\n%s", spec, err, b)
	}
	return ref
}

// specName is the image name of a spec file.
func specName(t testing.TB, specFile string) string {
	t.Helper()
	s, err := spec.LoadFile(specFile)
	if err != nil {
		t.Fatal(err)
	}
	return s.Name
}

// Package imagegentest gives imagegen's tests real Nix store closures: Go programs built for
// amd64 or arm64 and put into the store by raw derivations (Debian's nix-bin, no nixpkgs), and
// the FFmpeg closure fixture.
package imagegentest

import (
	_ "embed"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

//go:embed closure.nix
var closureNix []byte

// RepoRoot is the module's top directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the source tree")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
}

// GoBuild builds a static binary of pkg (an import path or ./dir relative to the repo root)
// for GOARCH arch with the host Go, reproducibly (-trimpath, no build ID, no VCS stamp).
func GoBuild(t testing.TB, pkg, arch string) string {
	t.Helper()
	goBin := testenv.RequireBinary(t, "go")
	out := filepath.Join(t.TempDir(), filepath.Base(pkg))
	cmd := exec.Command(goBin, "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w -buildid=", "-o", out, pkg)
	cmd.Dir = RepoRoot(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch, "GOTOOLCHAIN=local")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s for %s: %v\n%s", pkg, arch, err, b)
	}
	return out
}

// StoreClosure puts bin into the Nix store as NAME-0.1.0/bin/NAME with a data path (the *.json
// files of dataDir; "" is the repository's profiles/) and a licence path below it (a three-path
// closure), and returns the root store path.
func StoreClosure(t testing.TB, bin, name, dataDir string) string {
	t.Helper()
	nixBuild := testenv.RequireBinary(t, "nix-build")
	if dataDir == "" {
		dataDir = filepath.Join(RepoRoot(t), "profiles")
	}
	f := filepath.Join(t.TempDir(), "closure.nix")
	if err := os.WriteFile(f, closureNix, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(nixBuild, f, "--no-out-link", "--option", "substituters", "",
		"--arg", "bin", bin, "--arg", "profiles", dataDir, "--argstr", "name", name)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("nix-build closure of %s: %v\n%s", name, err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// SwarmClosure builds the go-ffmpeg-hls-swarm binary for arch into a store closure.
func SwarmClosure(t testing.TB, arch string) string {
	t.Helper()
	return StoreClosure(t, GoBuild(t, "./cmd/go-ffmpeg-hls-swarm", arch), "go-ffmpeg-hls-swarm", "")
}

// HealthServerClosure builds the healthserver test program for arch into a store closure.
func HealthServerClosure(t testing.TB, arch string) string {
	t.Helper()
	return StoreClosure(t, GoBuild(t, "./internal/imagegen/imagegentest/healthserver", arch), "healthserver", "")
}

// FFmpegClosure returns the root of the FFmpeg closure fixture, building it if needed. The
// fixtures live in ../shared beside the repository, or in $HLS_SWARM_FIXTURES.
func FFmpegClosure(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("HLS_SWARM_FIXTURES")
	if dir == "" {
		dir = filepath.Join(RepoRoot(t), "..", "shared", "fixtures")
	}
	script := filepath.Join(dir, "ffmpeg-closure", "make-closure.sh")
	if _, err := os.Stat(script); err != nil {
		testenv.SkipOrFail(t, "the FFmpeg closure fixture is not at %s (set HLS_SWARM_FIXTURES)", script)
	}
	testenv.RequireRoot(t)
	testenv.RequireBinary(t, "ffmpeg")
	testenv.RequireBinary(t, "patchelf")
	// A private work dir: the script's default (/tmp/fixture-work) races when tests run it in
	// parallel; the store paths do not depend on it.
	cmd := exec.Command(script, "--work", filepath.Join(t.TempDir(), "ffmpeg-closure"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// FixedClosure is a closure whose bytes depend on nothing but this repository's testdata, the
// HelloELF program and the Nix version: its image digest can be compared between machines. Its
// program /bin/imagegen-fixed (amd64) prints testdata/fixed/hello.txt.
func FixedClosure(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(RepoRoot(t), "internal", "imagegen", "imagegentest", "testdata", "fixed")
	msg, err := os.ReadFile(filepath.Join(dir, "hello.txt"))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "imagegen-fixed-hello")
	if err := os.WriteFile(bin, HelloELF(string(msg)), 0o755); err != nil {
		t.Fatal(err)
	}
	return StoreClosure(t, bin, "imagegen-fixed", dir)
}

// Flake writes a flake whose default package is the fixed closure under another name (pure
// evaluation: the system is given) and returns its installable "path:DIR#default".
func Flake(t testing.TB, name string) string {
	t.Helper()
	dir := t.TempDir()
	fixed := filepath.Join(RepoRoot(t), "internal", "imagegen", "imagegentest", "testdata", "fixed")
	for n, b := range map[string][]byte{"closure.nix": closureNix} {
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"hello.txt", "data.json"} {
		b, err := os.ReadFile(filepath.Join(fixed, n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "data", n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	flake := `{
  outputs = { self }: {
    packages.x86_64-linux.default = import ./closure.nix {
      bin = ./data/hello.txt; profiles = ./data; name = "` + name + `"; system = "x86_64-linux";
    };
  };
}
`
	if err := os.WriteFile(filepath.Join(dir, "flake.nix"), []byte(flake), 0o644); err != nil {
		t.Fatal(err)
	}
	return "path:" + dir + "#default"
}

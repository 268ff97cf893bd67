package koimage

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/imagegentest"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/spec"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

const app = "go-ffmpeg-hls-swarm"

// run runs a program in dir with extra environment and returns stdout; it fails the test with
// stderr when the program fails.
func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// TestKoBuildOnImagegenBase: imagegen pushes a two-arch base (amd64: the FFmpeg Nix closure;
// arm64: a small real arm64 closure, as no arm64 FFmpeg can be built here) to a loopback
// registry; ko builds the binary for both platforms on it with .ko.yaml; the result keeps the
// base's healthcheck and labels, has ko's entrypoint and the version from the ldflags, and the
// amd64 image prints --help (and runs the base's FFmpeg) in a real Docker engine.
func TestKoBuildOnImagegenBase(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the FFmpeg closure, two Go binaries and images, and runs Docker")
	}
	ko := testenv.RequireBinary(t, "ko")
	crane := testenv.RequireBinary(t, "crane")
	goBin := testenv.RequireBinary(t, "go")
	repo := imagegentest.RepoRoot(t)
	specFile := filepath.Join(repo, "profiles", "images", "ffmpeg-base.json")
	want, err := spec.LoadFile(specFile)
	if err != nil {
		t.Fatal(err)
	}

	// The base, built by the real imagegen CLI.
	amd64Root := imagegentest.FFmpegClosure(t)
	arm64Root := imagegentest.HealthServerClosure(t, "arm64")
	imagegen := filepath.Join(t.TempDir(), "imagegen")
	run(t, repo, []string{"CGO_ENABLED=0"}, goBin, "build", "-o", imagegen, "./cmd/imagegen")
	reg := testenv.Registry(t)
	base := reg + "/" + want.Name + ":latest"
	// The arm64 stand-in has no FFmpeg, so imagegen would refuse the spec's /bin/ffmpeg
	// entrypoint for it: start the base with ko's program (a derivedPrograms entry), as ko will.
	run(t, repo, []string{"XDG_CACHE_HOME=" + t.TempDir()}, imagegen, "build", "-q", "--spec", specFile, "--arch", "amd64,arm64",
		"--entrypoint", `["/ko-app/`+app+`"]`,
		"--root", "amd64="+amd64Root, "--root", "arm64="+arm64Root, "--output", "registry:"+base)

	// ko, with .ko.yaml from the repository root and the base from the environment.
	koEnv := []string{"KO_DOCKER_REPO=" + reg + "/app", "KO_DEFAULTBASEIMAGE=" + base,
		"KOCACHE=" + t.TempDir()}
	out := run(t, repo, koEnv, ko, "build", "--bare", "--platform=linux/amd64,linux/arm64", "./cmd/"+app)
	ref := strings.TrimSpace(out)
	if !strings.HasPrefix(ref, reg+"/app@sha256:") {
		t.Fatalf("ko printed %q, want %s/app@sha256:…", out, reg)
	}

	var idx v1.IndexManifest
	if err := json.Unmarshal([]byte(run(t, "", nil, crane, "manifest", ref)), &idx); err != nil {
		t.Fatalf("crane manifest: %v", err)
	}
	var platforms []string
	for _, m := range idx.Manifests {
		if m.Platform != nil {
			platforms = append(platforms, m.Platform.OS+"/"+m.Platform.Architecture)
		}
	}
	if strings.Join(platforms, ",") != "linux/amd64,linux/arm64" {
		t.Errorf("ko's index holds %v, want linux/amd64 and linux/arm64", platforms)
	}

	for _, platform := range []string{"linux/amd64", "linux/arm64"} {
		var cfg v1.ConfigFile
		if err := json.Unmarshal([]byte(run(t, "", nil, crane, "config", "--platform", platform, ref)), &cfg); err != nil {
			t.Fatalf("crane config %s: %v", platform, err)
		}
		c := cfg.Config
		if got := strings.Join(c.Entrypoint, " "); got != "/ko-app/"+app {
			t.Errorf("%s: entrypoint %q, want ko's /ko-app/%s", platform, got, app)
		}
		if c.Healthcheck == nil || !reflect.DeepEqual(c.Healthcheck.Test, want.Healthcheck.Test) {
			t.Errorf("%s: healthcheck %+v, want the base's %q", platform, c.Healthcheck, want.Healthcheck.Test)
		}
		for k, v := range want.Labels {
			if c.Labels[k] != v {
				t.Errorf("%s: label %s = %q, want the base's %q", platform, k, c.Labels[k], v)
			}
		}
		if c.User != "65534:65534" {
			t.Errorf("%s: user %q, want the base's 65534:65534", platform, c.User)
		}
		if !containsEnv(c.Env, "PATH", "/bin") || !containsEnv(c.Env, "PATH", "/ko-app") {
			t.Errorf("%s: env %q, want PATH with the base's /bin and ko's /ko-app", platform, c.Env)
		}
	}

	// amd64 in dockerd: --help, the version from .ko.yaml's ldflags, and the base's FFmpeg.
	host := testenv.Docker(t)
	img := reg + "/app:latest"
	t.Cleanup(func() { _, _ = imagegentest.Docker(t, host, "rmi", "-f", img) })
	if out, err := imagegentest.Docker(t, host, "pull", "--platform", "linux/amd64", img); err != nil {
		t.Fatalf("docker pull %s: %v\n%s", img, err, out)
	}
	help, err := imagegentest.Docker(t, host, "run", "--rm", "--network", "none", img, "--help")
	if err != nil || !strings.Contains(help, "Usage:") || !strings.Contains(help, app) {
		t.Fatalf("docker run %s --help: %v\n%s", img, err, help)
	}
	// .ko.yaml links {{.Git.Tag}} (v0.0.0 without tags) and {{.Git.ShortCommit}}; others may commit
	// while ko runs, so the commit must be one of this repository's, not necessarily HEAD.
	ver, err := imagegentest.Docker(t, host, "run", "--rm", "--network", "none", img, "--version")
	m := regexp.MustCompile(`version (\S+) \(([0-9a-f]{7,})\)`).FindStringSubmatch(ver)
	if err != nil || m == nil {
		t.Fatalf("--version printed %q (%v): want \"version TAG (COMMIT)\" from .ko.yaml's ldflags", ver, err)
	}
	wantTag := "v0.0.0"
	if tag, err := exec.Command("git", "-C", repo, "describe", "--tags", "--abbrev=0").Output(); err == nil {
		wantTag = strings.TrimSpace(string(tag))
	}
	if m[1] != wantTag {
		t.Errorf("--version shows version %s, want the git tag %s", m[1], wantTag)
	}
	if err := exec.Command("git", "-C", repo, "rev-parse", "--verify", "--quiet", m[2]+"^{commit}").Run(); err != nil {
		t.Errorf("--version shows commit %s, which is not a commit of this repository", m[2])
	}
	ff, err := imagegentest.Docker(t, host, "run", "--rm", "--network", "none", "--entrypoint", "/bin/ffmpeg", img, "-hide_banner", "-version")
	if err != nil || !strings.HasPrefix(ff, "ffmpeg version") {
		t.Errorf("the base's FFmpeg in the ko image: %v\n%s", err, ff)
	}

	// arm64 under qemu-user-static: ko's arm64 binary on the arm64 base.
	t.Run("arm64", func(t *testing.T) {
		imagegentest.RequireARM64Emulation(t)
		if out, err := imagegentest.Docker(t, host, "pull", "--platform", "linux/arm64", img); err != nil {
			t.Fatalf("docker pull --platform linux/arm64 %s: %v\n%s", img, err, out)
		}
		arch, err := imagegentest.Docker(t, host, "image", "inspect", "-f", "{{.Architecture}}", img)
		if err != nil || strings.TrimSpace(arch) != "arm64" {
			t.Fatalf("pulled %q (%v), want arm64", arch, err)
		}
		help, err := imagegentest.Docker(t, host, "run", "--rm", "--platform", "linux/arm64", "--network", "none", img, "--help")
		if err != nil || !strings.Contains(help, "Usage:") {
			t.Fatalf("arm64 %s --help: %v\n%s", img, err, help)
		}
	})
}

func containsEnv(env []string, key, part string) bool {
	for _, e := range env {
		if k, v, ok := strings.Cut(e, "="); ok && k == key {
			for _, p := range strings.Split(v, ":") {
				if p == part {
					return true
				}
			}
		}
	}
	return false
}

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/imagegentest"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

// buildOK runs `imagegen build` and fails the test unless it succeeds; it returns the index digest.
func buildOK(t *testing.T, args ...string) string {
	t.Helper()
	code, out, stderr := run(t, append([]string{"build", "-q"}, args...)...)
	if code != 0 {
		t.Fatalf("imagegen build %s: exit %d: %s", strings.Join(args, " "), code, stderr)
	}
	return strings.TrimSpace(out)
}

// TestSwarmImages builds the main binary image for amd64 and arm64 from real store closures and
// checks it with crane, ggcr's validator and a real Docker engine (arm64 under qemu).
func TestSwarmImages(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Go for two arches, Nix store paths, and runs containers")
	}
	crane := testenv.RequireBinary(t, "crane")
	amd64, arm64 := imagegentest.SwarmClosure(t, "amd64"), imagegentest.SwarmClosure(t, "arm64")
	spec := specPath(t, "go-ffmpeg-hls-swarm")
	both := []string{"--spec", spec, "--arch", "amd64,arm64", "--root", "amd64=" + amd64, "--root", "arm64=" + arm64}
	dir := t.TempDir()

	// All arches: an OCI layout and a registry push.
	reg := testenv.Registry(t)
	ref := reg + "/go-ffmpeg-hls-swarm:latest"
	lay := filepath.Join(dir, "layout")
	digest := buildOK(t, append(both, "-o", "oci:"+lay, "-o", "registry:"+ref)...)
	idx, err := layout.ImageIndexFromPath(lay)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(idx); err != nil {
		t.Fatalf("validate.Index on the OCI layout: %v", err)
	}
	if b, err := exec.Command(crane, "validate", "--remote", ref).CombinedOutput(); err != nil {
		t.Fatalf("crane validate --remote: %v\n%s", err, b)
	}
	if b, err := exec.Command(crane, "digest", ref).Output(); err != nil || strings.TrimSpace(string(b)) != digest {
		t.Fatalf("registry holds %s (%v), build printed %s", b, err, digest)
	}
	for _, f := range []string{"layout.amd64.spdx.json", "layout.arm64.spdx.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("SBOM %s: %v", f, err)
		}
	}

	// The same inputs twice: the same digest.
	if again := buildOK(t, append(both, "-o", "oci:"+filepath.Join(dir, "again"))...); again != digest {
		t.Fatalf("second build %s, first %s", again, digest)
	}

	// amd64: docker-archive → crane validate → docker load → docker run --help → docker inspect.
	host := testenv.Docker(t)
	tarPath := filepath.Join(dir, "swarm-amd64.tar")
	buildOK(t, append(both, "--platform", "linux/amd64", "--tag", "e2e-amd64", "-o", "docker-archive:"+tarPath)...)
	if b, err := exec.Command(crane, "validate", "--tarball", tarPath).CombinedOutput(); err != nil {
		t.Fatalf("crane validate --tarball: %v\n%s", err, b)
	}
	img := "go-ffmpeg-hls-swarm:e2e-amd64"
	t.Cleanup(func() { _, _ = imagegentest.Docker(t, host, "rmi", "-f", img, "go-ffmpeg-hls-swarm:e2e-arm64") })
	if out, err := imagegentest.Docker(t, host, "load", "-i", tarPath); err != nil {
		t.Fatalf("docker load: %v\n%s", err, out)
	}
	out, err := imagegentest.Docker(t, host, "run", "--rm", "--network", "none", img, "--help")
	if err != nil || !strings.Contains(out, "go-ffmpeg-hls-swarm") {
		t.Fatalf("docker run --help: %v\n%s", err, out)
	}
	raw, err := imagegentest.Docker(t, host, "image", "inspect", img)
	if err != nil {
		t.Fatal(raw)
	}
	var ins []struct {
		Config struct {
			User         string
			Env          []string
			ExposedPorts map[string]struct{}
			Labels       map[string]string
			Healthcheck  *struct{ Test []string }
			Entrypoint   []string
		}
		Architecture string
	}
	if err := json.Unmarshal([]byte(raw), &ins); err != nil || len(ins) != 1 {
		t.Fatalf("docker inspect: %v\n%s", err, raw)
	}
	c := ins[0].Config
	if c.User != "65534:65534" || c.Healthcheck == nil || strings.Join(c.Healthcheck.Test, " ") !=
		"CMD /bin/go-ffmpeg-hls-swarm healthcheck" ||
		c.Labels["swarm.deployment-type"] != "container" || c.Labels["swarm.profile"] != "default" ||
		c.Labels["org.opencontainers.image.source"] == "" || len(c.ExposedPorts) != 1 ||
		!strings.Contains(strings.Join(c.Env, " "), "METRICS_PORT=9100") || ins[0].Architecture != "amd64" {
		t.Fatalf("docker inspect config = %+v", ins[0])
	}

	// arm64: straight into the engine, run under qemu-user-static.
	imagegentest.RequireARM64Emulation(t)
	buildOK(t, append(both, "--platform", "linux/arm64", "--tag", "e2e-arm64", "--docker-host", host, "-o", "docker-daemon")...)
	out, err = imagegentest.Docker(t, host, "run", "--rm", "--network", "none", "--platform", "linux/arm64",
		"go-ffmpeg-hls-swarm:e2e-arm64", "--help")
	if err != nil || !strings.Contains(out, "go-ffmpeg-hls-swarm") {
		t.Fatalf("docker run --platform linux/arm64 --help: %v\n%s", err, out)
	}
	arch, _ := imagegentest.Docker(t, host, "image", "inspect", "-f", "{{.Architecture}}/{{.Variant}}", "go-ffmpeg-hls-swarm:e2e-arm64")
	if strings.TrimSpace(arch) != "arm64/v8" {
		t.Fatalf("arm64 image is %q", arch)
	}
}

// TestHealthyContainer runs an image whose exec-form healthcheck calls the image's own binary,
// and waits for Docker to call it healthy.
func TestHealthyContainer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a container")
	}
	host := testenv.Docker(t)
	root := imagegentest.HealthServerClosure(t, "amd64")
	specFile := filepath.Join(t.TempDir(), "healthserver.json")
	spec := fmt.Sprintf(`{
  "name": "imagegen-healthserver", "tags": ["e2e"],
  "entrypoint": ["/bin/healthserver", "serve", "--listen", "127.0.0.1:8080"],
  "exposedPorts": ["8080/tcp"],
  "healthcheck": {"test": ["CMD", "/bin/healthserver", "healthcheck", "--url", "http://127.0.0.1:8080/health"],
                  "interval": "1s", "timeout": "5s", "retries": 3},
  "labels": {"swarm.deployment-type": "container", "swarm.profile": "default"},
  "roots": {"amd64": [%q]}
}`, root)
	if err := os.WriteFile(specFile, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	buildOK(t, "--spec", specFile, "--docker-host", host, "-o", "docker-daemon")
	name := fmt.Sprintf("imagegen-health-%d", time.Now().UnixNano())
	t.Cleanup(func() {
		_, _ = imagegentest.Docker(t, host, "rm", "-f", name)
		_, _ = imagegentest.Docker(t, host, "rmi", "-f", "imagegen-healthserver:e2e")
	})
	if out, err := imagegentest.Docker(t, host, "run", "-d", "--name", name, "--network", "none", "imagegen-healthserver:e2e"); err != nil {
		t.Fatalf("docker run: %v\n%s", err, out)
	}
	imagegentest.WaitHealthy(t, host, name, 90*time.Second)
	user, _ := imagegentest.Docker(t, host, "exec", name, "/bin/healthserver", "healthcheck")
	if strings.TrimSpace(user) != "" {
		t.Fatalf("healthcheck printed %q", user)
	}
}

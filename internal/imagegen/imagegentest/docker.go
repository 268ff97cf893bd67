package imagegentest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

const binfmtAarch64 = "/proc/sys/fs/binfmt_misc/qemu-aarch64"

// RequireARM64Emulation makes sure arm64 programs run here (qemu-user-static via binfmt_misc),
// enabling it as FACTS.md says when needed; skips (fails in CI) when it cannot.
func RequireARM64Emulation(t testing.TB) {
	t.Helper()
	enabled := func() bool {
		b, err := os.ReadFile(binfmtAarch64)
		return err == nil && strings.HasPrefix(string(b), "enabled")
	}
	if enabled() {
		return
	}
	testenv.RequireRoot(t)
	if _, err := os.Stat("/proc/sys/fs/binfmt_misc/register"); err != nil {
		_ = exec.Command("mount", "-t", "binfmt_misc", "binfmt_misc", "/proc/sys/fs/binfmt_misc").Run()
	}
	if p, err := exec.LookPath("update-binfmts"); err == nil {
		_ = exec.Command(p, "--enable", "qemu-aarch64").Run()
	}
	if !enabled() {
		testenv.SkipOrFail(t, "arm64 emulation is off: install qemu-user-static binfmt-support and enable qemu-aarch64")
	}
}

// Docker runs the docker CLI against host and returns its combined output.
func Docker(t testing.TB, host string, args ...string) (string, error) {
	t.Helper()
	docker := testenv.RequireBinary(t, "docker")
	cmd := exec.Command(docker, append([]string{"-H", host}, args...)...)
	b, err := cmd.CombinedOutput()
	return string(b), err
}

// WaitHealthy polls a container's State.Health.Status until it is healthy; it fails the test
// with the last health log when the status becomes unhealthy or the timeout passes.
func WaitHealthy(t testing.TB, host, container string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		out, err := Docker(t, host, "inspect", "-f", "{{.State.Health.Status}}", container)
		last = strings.TrimSpace(out)
		if err == nil && last == "healthy" {
			return
		}
		if last == "unhealthy" {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	logs, _ := Docker(t, host, "inspect", "-f", "{{json .State.Health}}", container)
	out, _ := Docker(t, host, "logs", "--tail", "30", container)
	t.Fatalf("container %s health %q after %s\nhealth: %s\nlogs:\n%s", container, last, timeout, logs, out)
}

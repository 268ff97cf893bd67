// Package testenv gives integration tests the real parts they drive: programs on PATH, free
// loopback ports, a Docker engine and an OCI registry, each cleaned up when the test ends.
package testenv

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

// InCI reports whether the suite runs under CI, where a missing part is a failure, not a skip.
func InCI() bool { return os.Getenv("CI") != "" }

// skipOrFail skips loudly on a developer machine and fails in CI.
func skipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatalf("CI needs this: %s", msg)
	}
	fmt.Fprintf(os.Stderr, "\n*** SKIPPING %s: %s (run `make deps` to install it) ***\n\n", t.Name(), msg)
	t.Skip(msg)
}

// SkipOrFail skips loudly on a developer machine and fails in CI, for a missing part that
// RequireBinary/RequireRoot do not cover (a fixture, a kernel feature).
func SkipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	skipOrFail(t, format, args...)
}

// RequireBinary returns the path of a program, or skips (fails in CI) when it is absent.
func RequireBinary(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin", filepath.Join(os.Getenv("HOME"), "go", "bin")} {
			if _, serr := os.Stat(filepath.Join(dir, name)); serr == nil {
				return filepath.Join(dir, name)
			}
		}
		skipOrFail(t, "%s is not installed", name)
	}
	return p
}

// ClientFFmpegEnv names another FFmpeg for the swarm's clients in tests, e.g. the FFmpeg 7.1 of a
// Debian trixie root: HLS_SWARM_FFMPEG=$(scripts/ffmpeg-root.sh) go test ./... The test origin's
// encoder stays the ffmpeg on PATH.
const ClientFFmpegEnv = "HLS_SWARM_FFMPEG"

// ClientFFmpeg returns the FFmpeg tests run as swarm clients: $HLS_SWARM_FFMPEG when set (it must
// then run), else ffmpeg on PATH (skipped, or failed in CI, when absent).
func ClientFFmpeg(t testing.TB) string {
	t.Helper()
	p := os.Getenv(ClientFFmpegEnv)
	if p == "" {
		return RequireBinary(t, "ffmpeg")
	}
	if out, err := exec.Command(p, "-hide_banner", "-version").CombinedOutput(); err != nil {
		t.Fatalf("%s=%s does not run: %v: %.200s", ClientFFmpegEnv, p, err, out)
	}
	return p
}

// RequireRoot skips (fails in CI) when the test is not running as root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		skipOrFail(t, "needs root")
	}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// WaitFor polls cond every 50 ms until it returns true or the timeout passes.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", timeout, what)
}

// Registry starts an in-process OCI registry (go-containerregistry's pkg/registry) on a free
// loopback port and returns its "127.0.0.1:PORT" address.
func Registry(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen for registry: %v", err)
	}
	srv := httptest.NewUnstartedServer(registry.New(registry.Logger(nullLogger())))
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return l.Addr().String()
}

// FailingRegistry is Registry whose requests for which fail returns true are answered 507
// Insufficient Storage, as a full registry would (e.g. fail every manifest PUT by tag).
func FailingRegistry(t testing.TB, fail func(*http.Request) bool) string {
	t.Helper()
	reg := registry.New(registry.Logger(nullLogger()))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail(r) {
			http.Error(w, `{"errors":[{"code":"UNKNOWN","message":"storage full"}]}`, http.StatusInsufficientStorage)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// Docker returns a DOCKER_HOST for a running Docker engine. It uses $DOCKER_HOST when that
// engine answers (make test starts one), otherwise starts a private dockerd for this test.
func Docker(t testing.TB) string {
	t.Helper()
	if h := os.Getenv("DOCKER_HOST"); h != "" && dockerPing(h) {
		return h
	}
	dockerd := RequireBinary(t, "dockerd")
	RequireRoot(t)
	dir, err := os.MkdirTemp("", "testenv-docker-")
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sock")
	logf, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(dockerd, "--iptables=false", "--bridge=none", "--storage-driver=overlay2",
		"--data-root", filepath.Join(dir, "root"), "--exec-root", filepath.Join(dir, "exec"),
		"--pidfile", filepath.Join(dir, "pid"), "-H", "unix://"+sock)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start dockerd: %v", err)
	}
	host := "unix://" + sock
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		logf.Close()
		_ = exec.Command("umount", "-R", filepath.Join(dir, "root")).Run()
		// dockerd bind-mounts its network namespace (nsfs) here; RemoveAll cannot remove it.
		_ = exec.Command("umount", filepath.Join(dir, "exec", "netns", "default")).Run()
		_ = os.RemoveAll(dir)
	})
	WaitFor(t, 60*time.Second, "dockerd to answer", func() bool { return dockerPing(host) })
	return host
}

func dockerPing(host string) bool {
	sock, ok := strings.CutPrefix(host, "unix://")
	if !ok {
		return false
	}
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}
	resp, err := c.Get("http://docker/_ping")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// ReadOnlyDir returns an empty directory nothing can be written in, even by root: a read-only
// tmpfs mounted for the test (as root), or a directory without write permission.
func ReadOnlyDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(dir, 0o755) })
		return dir
	}
	if b, err := exec.Command("mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount a read-only tmpfs: %v\n%s", err, b)
	}
	t.Cleanup(func() {
		if b, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v\n%s", dir, err, b)
		}
	})
	return dir
}

// SharedTempDir makes a directory that other users can read and enter (mode 0755, in the
// system's temp dir: t.TempDir's parent is 0700), for what a child running as another user
// must reach, such as nginx's workers or a binary run as nobody. It is removed after the test.
func SharedTempDir(t testing.TB, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

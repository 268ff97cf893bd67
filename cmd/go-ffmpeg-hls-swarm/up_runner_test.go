package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

func TestUpNoTerminalStartsRunnerOrigin(t *testing.T) {
	if testing.Short() {
		t.Skip("starts FFmpeg and nginx")
	}
	testenv.RequireBinary(t, "ffmpeg")
	testenv.RequireBinary(t, "nginx")
	bin := upBuildBinary(t)
	port := testenv.FreePort(t)
	cmd := exec.Command(bin, "up", "--", "--port", strconv.Itoa(port))
	cmd.Stdin = nil // /dev/null: no terminal, so no menu
	var out testenv.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var seen []testenv.Proc
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		for _, p := range seen {
			if p.Alive() {
				_ = syscall.Kill(p.PID, syscall.SIGKILL)
			}
		}
	})

	health := fmt.Sprintf("http://127.0.0.1:%d/health", port)
	client := &http.Client{Timeout: 2 * time.Second}
	testenv.WaitFor(t, 90*time.Second, "the runner origin's /health to answer 200", func() bool {
		select {
		case err := <-exited:
			t.Fatalf("up exited before the origin was healthy (%v):\n%s", err, out.String())
		default:
		}
		resp, err := client.Get(health)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	for _, w := range []string{"No terminal: using the defaults (profile=default, type=runner)", "Profile:    default - ",
		"Type:       runner - ", fmt.Sprintf("Underlying: %s origin --profile default --port %d", bin, port)} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, out.String())
		}
	}
	seen = testenv.Descendants(cmd.Process.Pid)
	comms := map[string]bool{}
	for _, p := range seen {
		comms[p.Comm] = true
	}
	if !comms["ffmpeg"] || !comms["nginx"] {
		t.Errorf("the runner's children are %v, want ffmpeg and nginx among them", seen)
	}
	// up replaced itself with the origin (execve), so the PID we started is the origin's.
	if p, ok := testenv.ReadProc(cmd.Process.Pid); !ok || !strings.HasPrefix(p.Comm, "go-ffmpeg-hls") {
		t.Errorf("PID %d is %v, want the go-ffmpeg-hls-swarm origin", cmd.Process.Pid, p)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("origin exited with %v after SIGTERM, want 0:\n%s", err, out.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("origin still running 60 s after SIGTERM:\n%s", out.String())
	}
	testenv.WaitFor(t, 30*time.Second, "every child (ffmpeg, nginx) to be gone", func() bool {
		for _, p := range seen {
			if p.Alive() {
				return false
			}
		}
		return true
	})
	if resp, err := client.Get(health); err == nil {
		resp.Body.Close()
		t.Errorf("port %d still answers after the origin stopped", port)
	}
	// The origin made its own run directory (segments on tmpfs) and must remove it on SIGTERM.
	m := regexp.MustCompile(`run_dir=(\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("the origin's log names no run_dir:\n%s", out.String())
	}
	if _, err := os.Stat(m[1]); !os.IsNotExist(err) {
		t.Errorf("run dir %s is still there after SIGTERM (stat: %v)", m[1], err)
	}
}

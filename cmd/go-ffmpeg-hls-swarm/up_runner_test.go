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

// procEntry identifies a process across PID reuse.
type procEntry struct {
	pid   int
	start string // field 22 of /proc/PID/stat
	comm  string
}

// procDescendants lists every live descendant of pid from /proc.
func procDescendants(pid int) []procEntry {
	type info struct {
		ppid        int
		start, comm string
	}
	all := map[int]info{}
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		p, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		if e, ok := procStat(p); ok {
			ppid, _ := strconv.Atoi(e[1])
			all[p] = info{ppid: ppid, start: e[19], comm: e[0]}
		}
	}
	var out []procEntry
	queue := []int{pid}
	for len(queue) > 0 {
		parent := queue[0]
		queue = queue[1:]
		for p, i := range all {
			if i.ppid == parent {
				out = append(out, procEntry{pid: p, start: i.start, comm: i.comm})
				queue = append(queue, p)
			}
		}
	}
	return out
}

// procStat returns a live process's comm and the /proc stat fields after state: [0]=comm,
// [1]=ppid, [19]=starttime; false when the process is gone or a zombie.
func procStat(pid int) ([]string, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, false
	}
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return nil, false
	}
	rest := strings.Fields(s[end+1:]) // state ppid pgrp … starttime is index 19
	if len(rest) < 20 || rest[0] == "Z" {
		return nil, false
	}
	return append([]string{s[open+1 : end]}, rest[1:]...), true
}

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
	var seen []procEntry
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		for _, p := range seen {
			if e, ok := procStat(p.pid); ok && e[19] == p.start {
				_ = syscall.Kill(p.pid, syscall.SIGKILL)
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
	seen = procDescendants(cmd.Process.Pid)
	comms := map[string]bool{}
	for _, p := range seen {
		comms[p.comm] = true
	}
	if !comms["ffmpeg"] || !comms["nginx"] {
		t.Errorf("the runner's children are %v, want ffmpeg and nginx among them", seen)
	}
	// up replaced itself with the origin (execve), so the PID we started is the origin's.
	if e, ok := procStat(cmd.Process.Pid); !ok || !strings.HasPrefix(e[0], "go-ffmpeg-hls") {
		t.Errorf("PID %d is %v, want the go-ffmpeg-hls-swarm origin", cmd.Process.Pid, e)
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
			if e, ok := procStat(p.pid); ok && e[19] == p.start {
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

package main

// Integration tests of the live view: the real binary in a real terminal (a tmux pane) against
// a real live origin; the dashboard when stdin and stderr are the terminal, the status line when
// stderr is not. Skipped under -short.

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/origin/origintest"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

func TestLiveViewIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real FFmpeg clients against a real origin in a terminal; skipped under -short")
	}
	testenv.RequireBinary(t, "tmux")
	bin := swarmBuildBinary(t)
	o := origintest.Start(t, "default", origintest.Small())
	t.Run("dashboard in a terminal; q stops the run", func(t *testing.T) { liveDashboard(t, bin, o.PlaylistURL, "q") })
	t.Run("Ctrl-C stops it the same way", func(t *testing.T) { liveDashboard(t, bin, o.PlaylistURL, "C-c") })
	t.Run("a second signal ends it at once and gives the terminal back", func(t *testing.T) { liveSecondSignal(t, bin, o.PlaylistURL) })
	t.Run("status line when stderr is not a terminal", func(t *testing.T) { liveStatusLine(t, bin, o.PlaylistURL) })
}

const liveClients = 3

// liveArgs runs liveClients clients with a record every second, bounded by --duration in case
// the test cannot stop it.
func liveArgs(t *testing.T, bin, playlist string) []string {
	port := testenv.FreePort(t)
	return []string{bin, "--metrics-addr", fmt.Sprintf("127.0.0.1:%d", port), "--clients", strconv.Itoa(liveClients),
		"--ramp-rate", "20", "--duration", "3m", "--progress-interval", "1s", playlist}
}

var (
	dashActive   = regexp.MustCompile(`clients\s+active (\d+) / target (\d+)`)
	dashReceived = regexp.MustCompile(`received\s+([0-9.]+) ([KMG]i)?B/s`)
)

// ffmpegDescendants waits until pid has n FFmpeg descendants and returns them.
func ffmpegDescendants(t *testing.T, pid, n int) []testenv.Proc {
	t.Helper()
	var ff []testenv.Proc
	testenv.WaitFor(t, 30*time.Second, fmt.Sprintf("%d FFmpeg clients under the swarm", n), func() bool {
		ff = ff[:0]
		for _, p := range testenv.Descendants(pid) {
			if p.Comm == "ffmpeg" {
				ff = append(ff, p)
			}
		}
		return len(ff) == n
	})
	return ff
}

func noneAlive(t *testing.T, procs []testenv.Proc) {
	t.Helper()
	testenv.WaitFor(t, 10*time.Second, "every FFmpeg client gone", func() bool {
		for _, p := range procs {
			if p.Alive() {
				return false
			}
		}
		return true
	})
}

// liveDashboard runs the swarm in a terminal, waits for the dashboard to show it working, then
// types key (tmux's name: "q", "C-c").
func liveDashboard(t *testing.T, bin, playlist, key string) {
	term, screen := waitDashboard(t, bin, playlist)
	for _, w := range []string{"go-ffmpeg-hls-swarm  " + playlist, "elapsed ", "remaining ", "seg TTFB", "seg load",
		"rebuffer", "errors", "attempts/s", "q or Ctrl-C: stop the run"} {
		if !strings.Contains(screen, w) {
			t.Errorf("the dashboard lacks %q", w)
		}
	}
	if statusLine.MatchString(screen) {
		t.Errorf("a status line on the dashboard's terminal:\n%s", screen)
	}
	pid := term.PID()
	ff := ffmpegDescendants(t, pid, liveClients)

	term.Keys(key)
	if code := term.Wait(60 * time.Second); code != 0 {
		t.Errorf("after %s: exit %d, want 0:\n%s", key, code, term.All())
	}
	all := term.All()
	for _, w := range []string{"run over: the summary follows", "== go-ffmpeg-hls-swarm summary", "(interrupted)", "segment ttfb"} {
		if !strings.Contains(all, w) {
			t.Errorf("after %s the terminal lacks %q:\n%s", key, w, all)
		}
	}
	// The summary comes after the dashboard's last frame, not under it.
	if i, j := strings.LastIndex(all, "run over: the summary follows"), strings.Index(all, "== go-ffmpeg-hls-swarm summary"); i < 0 || j < i {
		t.Errorf("the summary is not below the dashboard's last frame:\n%s", all)
	}
	// The log lines held back while the dashboard ran are written when it closes.
	if !strings.Contains(all, `msg="effective settings"`) || !strings.Contains(all, `msg="stopped by a signal or q"`) {
		t.Errorf("the run's log lines are missing:\n%s", all)
	}
	noneAlive(t, ff)
	if left := testenv.Descendants(pid); len(left) > 0 {
		t.Errorf("processes left under the swarm: %+v", left)
	}
}

// waitDashboard starts the swarm in a terminal and waits until the dashboard shows active
// clients and a non-zero throughput (within 10 s of the start).
func waitDashboard(t *testing.T, bin, playlist string) (*testenv.Terminal, string) {
	t.Helper()
	env := append(swarmEnv(), "TERM=xterm-256color")
	started := time.Now()
	term := testenv.StartTerminal(t, 120, 40, env, liveArgs(t, bin, playlist)...)
	screen := term.WaitScreen(10*time.Second, "active clients and a non-zero throughput on the dashboard", func(s string) bool {
		a, r := dashActive.FindStringSubmatch(s), dashReceived.FindStringSubmatch(s)
		if a == nil || r == nil {
			return false
		}
		active, _ := strconv.Atoi(a[1])
		rate, _ := strconv.ParseFloat(r[1], 64)
		return active > 0 && rate > 0
	})
	t.Logf("after %.1f s the dashboard shows:\n%s", time.Since(started).Seconds(), screen)
	return term, screen
}

// liveSecondSignal sends SIGINT twice: the process ends at once by the signal, as without a
// dashboard, and first gives the terminal back (cursor shown). A shell runs the swarm and stays,
// so the terminal's state after the swarm is still there to read.
func liveSecondSignal(t *testing.T, bin, playlist string) {
	env := append(swarmEnv(), "TERM=xterm-256color")
	argv := append([]string{"sh", "-c", `"$0" "$@"; echo "swarm exit $?"; exec sleep 120`}, liveArgs(t, bin, playlist)...)
	term := testenv.StartTerminal(t, 120, 40, env, argv...)
	term.WaitScreen(10*time.Second, "active clients on the dashboard", func(s string) bool { return dashActive.MatchString(s) })
	if term.CursorVisible() {
		t.Fatal("the dashboard runs with the cursor shown")
	}
	kids := testenv.Children(term.PID()) // the shell's one child: the swarm
	if len(kids) != 1 {
		t.Fatalf("the shell has %d children, want the swarm alone: %+v", len(kids), kids)
	}
	swarm := kids[0].PID
	ff := ffmpegDescendants(t, swarm, liveClients)
	for range 2 {
		if err := syscall.Kill(swarm, syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	term.WaitScreen(30*time.Second, "the swarm to end", func(s string) bool { return strings.Contains(s, "swarm exit ") })
	if s := term.All(); !strings.Contains(s, "swarm exit 130") {
		t.Errorf("after two SIGINTs, want the exit status of SIGINT (130 in a shell):\n%s", s)
	}
	if !term.CursorVisible() {
		t.Errorf("the terminal was not given back (cursor still hidden)")
	}
	noneAlive(t, ff)
}

func liveStatusLine(t *testing.T, bin, playlist string) {
	dir := t.TempDir()
	stderr := filepath.Join(dir, "stderr")
	env := append(swarmEnv(), "TERM=xterm-256color")
	// stdin and stdout are the terminal, stderr a file: no dashboard.
	argv := append([]string{"sh", "-c", `exec "$0" "$@" 2>` + stderr}, liveArgs(t, bin, playlist)...)
	started := time.Now()
	term := testenv.StartTerminal(t, 120, 40, env, argv...)
	var line []string
	testenv.WaitFor(t, 10*time.Second, "a status line with active clients and a non-zero throughput", func() bool {
		b, _ := os.ReadFile(stderr)
		for _, m := range statusLine.FindAllStringSubmatch(string(b), -1) {
			active, _ := strconv.Atoi(m[4])
			mbs, _ := strconv.ParseFloat(m[7], 64)
			if active > 0 && mbs > 0 {
				line = m
				return true
			}
		}
		return false
	})
	t.Logf("after %.1f s: %s", time.Since(started).Seconds(), line[0])
	pid := term.PID()
	ff := ffmpegDescendants(t, pid, liveClients)
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := term.Wait(60 * time.Second); code != 0 {
		t.Errorf("after SIGTERM: exit %d, want 0", code)
	}
	all := term.All()
	if !strings.Contains(all, "== go-ffmpeg-hls-swarm summary") || !strings.Contains(all, "(interrupted)") {
		t.Errorf("no summary on the terminal (stdout):\n%s", all)
	}
	if strings.Contains(all, "seg TTFB") || strings.Contains(all, "q or Ctrl-C") {
		t.Errorf("a dashboard although stderr is a file:\n%s", all)
	}
	b, _ := os.ReadFile(stderr)
	if strings.Contains(string(b), "\x1b[") {
		t.Errorf("escape sequences in the piped stderr:\n%q", swarmTail(string(b), 10))
	}
	noneAlive(t, ff)
}

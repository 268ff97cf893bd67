package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Terminal is one program running in a real terminal: a tmux pane of its own tmux server (a
// private socket), so a test reads the screen as a person would see it (tmux interprets every
// escape sequence: cursor moves, partial redraws, colours) and types keys into it.
type Terminal struct {
	t    testing.TB
	tmux string
	sock string
	// deadSince is when Exited first saw the pane dead without an exit status or signal.
	deadSince time.Time
}

// StartTerminal runs argv in a new cols×rows terminal with env as its whole environment (TERM
// is tmux's). The pane stays after the program exits, so its last screen and exit status can
// be read. Everything is stopped and removed when the test ends.
func StartTerminal(t testing.TB, cols, rows int, env []string, argv ...string) *Terminal {
	t.Helper()
	tm := &Terminal{t: t, tmux: RequireBinary(t, "tmux")}
	dir, err := os.MkdirTemp("", "tmux") // a socket path must be short (sun_path is 108 bytes)
	if err != nil {
		t.Fatal(err)
	}
	tm.sock = filepath.Join(dir, "s")
	conf := filepath.Join(dir, "tmux.conf")
	if err := os.WriteFile(conf, []byte("set -g remain-on-exit on\nset -g history-limit 10000\nset -g status off\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = exec.Command(tm.tmux, "-S", tm.sock, "kill-server").Run()
		_ = os.RemoveAll(dir)
	})
	args := append([]string{"-S", tm.sock, "-f", conf, "new-session", "-d", "-s", "t",
		"-x", strconv.Itoa(cols), "-y", strconv.Itoa(rows), "--"}, argv...)
	cmd := exec.Command(tm.tmux, args...)
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tmux new-session: %v: %s", err, out)
	}
	return tm
}

func (tm *Terminal) run(args ...string) (string, error) {
	out, err := exec.Command(tm.tmux, append([]string{"-S", tm.sock}, args...)...).CombinedOutput()
	return string(out), err
}

// Screen is the visible screen as text (no escape sequences), one line per row.
func (tm *Terminal) Screen() string {
	out, _ := tm.run("capture-pane", "-p", "-t", "t")
	return out
}

// ScreenANSI is the visible screen with its colours and attributes as escape sequences.
func (tm *Terminal) ScreenANSI() string {
	out, _ := tm.run("capture-pane", "-p", "-e", "-t", "t")
	return out
}

// All is the scrollback and the screen as text: everything the program wrote that a person
// could scroll back to.
func (tm *Terminal) All() string {
	out, _ := tm.run("capture-pane", "-p", "-J", "-S", "-", "-E", "-", "-t", "t")
	return out
}

// Keys types keys, in tmux's key names ("q", "C-c", "Down", "Enter").
func (tm *Terminal) Keys(keys ...string) {
	tm.t.Helper()
	if out, err := tm.run(append([]string{"send-keys", "-t", "t"}, keys...)...); err != nil {
		tm.t.Fatalf("tmux send-keys %v: %v: %s", keys, err, out)
	}
}

func (tm *Terminal) display(format string) string {
	out, _ := tm.run("display-message", "-p", "-t", "t", format)
	return strings.TrimSpace(out)
}

// PID is the program's process ID.
func (tm *Terminal) PID() int {
	pid, err := strconv.Atoi(tm.display("#{pane_pid}"))
	if err != nil {
		tm.t.Fatalf("tmux pane_pid: %v", err)
	}
	return pid
}

// Exited reports whether the program has ended, and its exit status (0 when a signal ended it).
// tmux marks a pane dead when its pty closes, which can come before it has reaped the program
// (CI once read exit 0 for a program that exits 1): a dead pane without a status or a signal
// counts as ended only once it stayed so for a second (tmux leaves both empty for some
// programs a signal ended).
func (tm *Terminal) Exited() (bool, int) {
	f := strings.Split(tm.display("#{pane_dead}|#{pane_dead_status}|#{pane_dead_signal}"), "|")
	if len(f) != 3 || strings.TrimSpace(f[0]) != "1" {
		return false, 0
	}
	status, signal := strings.TrimSpace(f[1]), strings.TrimSpace(f[2])
	if signal != "" {
		return true, 0
	}
	if status == "" {
		if tm.deadSince.IsZero() {
			tm.deadSince = time.Now()
		}
		return time.Since(tm.deadSince) >= time.Second, 0
	}
	code, err := strconv.Atoi(status)
	if err != nil {
		tm.t.Fatalf("tmux pane_dead_status %q: %v", status, err)
	}
	return true, code
}

// CursorVisible reports whether the terminal shows its cursor (a full-screen program hides it
// and shows it again when it gives the terminal back). Read it while a program still runs in
// the pane: tmux keeps the flag of a dead pane as it was.
func (tm *Terminal) CursorVisible() bool { return tm.display("#{cursor_flag}") == "1" }

// Wait waits up to timeout for the program to exit and returns its exit status.
func (tm *Terminal) Wait(timeout time.Duration) int {
	tm.t.Helper()
	code := 0
	WaitFor(tm.t, timeout, "the program in the terminal to exit", func() bool {
		done, c := tm.Exited()
		code = c
		return done
	})
	return code
}

// WaitScreen waits up to timeout until cond holds for the visible screen, and returns it.
func (tm *Terminal) WaitScreen(timeout time.Duration, what string, cond func(screen string) bool) string {
	tm.t.Helper()
	var s string
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if s = tm.Screen(); cond(s) {
			return s
		}
		time.Sleep(100 * time.Millisecond)
	}
	tm.t.Fatalf("timed out after %s waiting for %s; the screen:\n%s", timeout, what, s)
	return s
}

// String describes the terminal for failure messages.
func (tm *Terminal) String() string { return fmt.Sprintf("tmux %s", tm.sock) }

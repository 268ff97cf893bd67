package origin

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"sync"
	"syscall"
	"time"
)

// stopGrace is how long a child gets between SIGTERM and SIGKILL.
const stopGrace = 3 * time.Second

// command builds a child that gets SIGTERM (its whole process group) when ctx ends and SIGKILL
// after stopGrace. Start it with proc.Start, which gives it its own process group and the signal
// it gets if this process dies first: SIGKILL for FFmpeg, SIGTERM for nginx, whose master then
// stops its workers (a SIGKILLed master would leave them serving, orphaned).
func command(ctx context.Context, path string, args []string, log *slog.Logger) *exec.Cmd {
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = stopGrace
	w := &lineLogger{log: log}
	cmd.Stdout, cmd.Stderr = w, w
	return cmd
}

// wait waits for cmd and then SIGKILLs what is left of its process group (nginx workers whose
// master died, for instance), so nothing outlives the origin.
func wait(cmd *exec.Cmd) error {
	err := cmd.Wait()
	if kerr := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); kerr != nil && !errors.Is(kerr, syscall.ESRCH) {
		return errors.Join(err, kerr)
	}
	return err
}

// lineLogger logs each line a child writes.
type lineLogger struct {
	log *slog.Logger
	mu  sync.Mutex
	buf []byte
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		if line := bytes.TrimSpace(l.buf[:i]); len(line) > 0 {
			l.log.Log(context.Background(), lineLevel(line), string(line))
		}
		l.buf = l.buf[i+1:]
	}
	if len(l.buf) > 64<<10 { // a line without end: log what we have
		l.log.Info(string(l.buf))
		l.buf = l.buf[:0]
	}
	return len(p), nil
}

// levelRE finds the level tag in an nginx error-log line ("2026/11/26 11:00:00 [warn] …") or an
// FFmpeg line logged with -loglevel level+… ("[hls @ 0x…] [warning] …", "x264 [error]: …").
var levelRE = regexp.MustCompile(`\[(emerg|alert|crit|fatal|panic|error|warn|warning|notice|info|verbose|debug|trace)\]`)

// lineLevel maps a child's log line to a slog level (Info when it carries no tag).
func lineLevel(line []byte) slog.Level {
	m := levelRE.FindSubmatch(line)
	if m == nil {
		return slog.LevelInfo
	}
	switch string(m[1]) {
	case "emerg", "alert", "crit", "fatal", "panic", "error":
		return slog.LevelError
	case "warn", "warning":
		return slog.LevelWarn
	case "verbose", "debug", "trace":
		return slog.LevelDebug
	}
	return slog.LevelInfo
}

// dirWritable reports whether dir exists and this process can create files in it.
func dirWritable(dir string) bool {
	f, err := os.CreateTemp(dir, ".probe-")
	if err != nil {
		return false
	}
	f.Close()
	os.Remove(f.Name())
	return true
}

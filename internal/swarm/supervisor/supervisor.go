// Package supervisor runs one swarm client's FFmpeg process and keeps it running: own process
// group, parent-death signal, graceful stop (SIGTERM, grace, SIGKILL) and restart with backoff.
package supervisor

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/backoff"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/proc"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/event"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/ffmpeg"
)

// Exit reasons carried by event.ClientExited.
const (
	ReasonClean   = "clean"   // exit status 0
	ReasonError   = "error"   // non-zero exit status
	ReasonSignal  = "signal"  // killed by a signal we did not send (other than SIGKILL)
	ReasonKilled  = "killed"  // SIGKILL we did not send (kill -9, the OOM killer)
	ReasonStopped = "stopped" // we stopped it: the swarm is ending
)

// secondTermAfter is when a client still running after the first SIGTERM gets a second one.
const secondTermAfter = 200 * time.Millisecond

// Client describes one supervised client.
type Client struct {
	Index int
	Argv  []string // argv[0] is the program
	// Restart says whether to start the client again after its process ends (the swarm's
	// reconnect setting); without it a client runs once.
	Restart bool
	// Finished, if set, says whether a clean exit (status 0) ends the client instead of
	// restarting it: the stream is VOD and FFmpeg played it to the end.
	Finished    func() bool
	Backoff     *backoff.Backoff
	GracePeriod time.Duration // SIGTERM → SIGKILL
	// HealthyAfter is how long an attempt that received media must stay up to reset the backoff.
	HealthyAfter time.Duration
	// Logs reads the client's stderr along with every other client's; nil reads it from a
	// goroutine of the client's own, line by line as FFmpeg writes.
	Logs   *LogReader
	Sink   event.Sink
	Logger *slog.Logger
}

// Run starts the client and restarts it until ctx is done (or, without Restart, until its
// process ends). It returns once the last process has been waited for.
func (c Client) Run(ctx context.Context) {
	if c.HealthyAfter <= 0 {
		c.HealthyAfter = backoff.DefaultHealthyAfter
	}
	if c.Backoff == nil {
		c.Backoff = backoff.New(0, rand.New(rand.NewPCG(uint64(c.Index), 0)))
	}
	for attempt := 0; ctx.Err() == nil; attempt++ {
		healthy, clean, cause := c.runOnce(ctx, attempt)
		if ctx.Err() != nil || !c.Restart {
			return
		}
		if clean && c.Finished != nil && c.Finished() {
			c.Logger.Info("client finished the VOD stream; not restarting it", "client", c.Index, "attempt", attempt)
			return
		}
		if healthy {
			c.Backoff.Reset()
		}
		delay := c.Backoff.Next()
		c.Logger.Info("client restarting", "client", c.Index, "attempt", attempt+1, "after", delay.Round(time.Millisecond), "cause", cause)
		c.Sink.Handle(event.Event{Kind: event.ClientRestartScheduled, Client: c.Index, Attempt: attempt,
			Time: time.Now(), Elapsed: delay})
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// runOnce runs one process to its end and reports whether the attempt was healthy and why it
// ended: cleanly (status 0), and why (for the restart log line).
func (c Client) runOnce(ctx context.Context, attempt int) (healthy, clean bool, cause string) {
	log := c.Logger.With("client", c.Index, "attempt", attempt)
	pr, pw, err := os.Pipe()
	if err != nil {
		why := fmt.Sprintf("progress pipe: %v", err)
		c.exited(attempt, -1, ReasonError, why)
		return false, false, why
	}
	er, ew, err := os.Pipe()
	if err != nil {
		pr.Close()
		pw.Close()
		why := fmt.Sprintf("stderr pipe: %v", err)
		c.exited(attempt, -1, ReasonError, why)
		return false, false, why
	}
	cmd := exec.Command(c.Argv[0], c.Argv[1:]...)
	cmd.Stderr = ew
	cmd.ExtraFiles = []*os.File{pw} // fd 3 = ffmpeg.ProgressFD
	start := time.Now()
	err = proc.Start(cmd, syscall.SIGKILL) // SIGKILLed if the swarm dies
	pw.Close()                             // the child has its copies; the pipes reach EOF when it (and its forks) are gone
	ew.Close()
	if err != nil {
		pr.Close()
		er.Close()
		log.Error("cannot start ffmpeg", "err", err)
		why := fmt.Sprintf("start: %v", err)
		c.exited(attempt, -1, ReasonError, why)
		return false, false, why
	}
	pid := cmd.Process.Pid
	c.Sink.Handle(event.Event{Kind: event.ClientStarted, Client: c.Index, Attempt: attempt, Time: start})
	log.Debug("ffmpeg started", "pid", pid)

	sess := ffmpeg.NewSession(c.Index, attempt, c.Sink)
	var readers sync.WaitGroup
	tail := &lastLines{}
	d := ffmpeg.NewProgressDecoder()
	readers.Add(2)
	go func() {
		defer readers.Done()
		c.follow(er, sess, log, func(line string, now time.Time) {
			tail.add(sess.LogLine(line, now), line)
		})
	}()
	go func() {
		defer readers.Done()
		c.follow(pr, sess, log, func(line string, now time.Time) {
			if p, ok := d.Line(line); ok {
				sess.Progress(p, now)
			}
		})
	}()

	// Stop: SIGTERM to the group on ctx done, SIGKILL to the group after the grace period.
	var reaped, stopping atomic.Bool
	waitDone := make(chan struct{})
	go func() {
		select {
		case <-waitDone:
			return
		case <-ctx.Done():
		}
		stopping.Store(true)
		signalGroup(pid, syscall.SIGTERM, &reaped)
		grace := time.NewTimer(c.GracePeriod)
		defer grace.Stop()
		// Once transcoding has started, FFmpeg's first SIGTERM only ends its main loop; blocking
		// I/O (the hls demuxer waiting for the next segment) is interrupted from the second
		// signal on (5.1 measured: up to a segment duration after one SIGTERM, ~0.15 s after
		// two). The output is still finished cleanly; only a fourth signal makes FFmpeg hard-exit.
		again := time.NewTimer(min(secondTermAfter, c.GracePeriod/2))
		defer again.Stop()
		for {
			select {
			case <-waitDone:
				return
			case <-again.C:
				signalGroup(pid, syscall.SIGTERM, &reaped)
				continue
			case <-grace.C:
				log.Warn("ffmpeg ignored SIGTERM for the grace period; sending SIGKILL", "pid", pid, "grace", c.GracePeriod)
				signalGroup(pid, syscall.SIGKILL, &reaped)
			}
			return
		}
	}()

	readers.Wait() // pipes reach EOF when the process (and anything it forked) is gone
	_ = cmd.Wait() // the exit status is read from ProcessState
	reaped.Store(true)
	close(waitDone)
	now := time.Now()

	code, reason := classify(cmd.ProcessState, stopping.Load())
	healthy = sess.GotFirstSegment() && now.Sub(start) >= c.HealthyAfter
	// The exit itself is logged at debug; a restart is logged at info with this cause (Run).
	uptime := now.Sub(start).Round(time.Millisecond)
	log.Debug("ffmpeg exited", "reason", reason, "status", code, "uptime", uptime, "last", tail.String())
	c.Sink.Handle(event.Event{Kind: event.ClientExited, Client: c.Index, Attempt: attempt, Time: now,
		Status: code, Reason: reason})
	return healthy, reason == ReasonClean, fmt.Sprintf("ffmpeg exit %s (status %d) after %s; last FFmpeg warnings: %s", reason, code, uptime, tail.String())
}

func (c Client) exited(attempt, code int, reason, why string) {
	c.Logger.Error("client failed", "client", c.Index, "attempt", attempt, "err", why)
	c.Sink.Handle(event.Event{Kind: event.ClientExited, Client: c.Index, Attempt: attempt, Time: time.Now(),
		Status: code, Reason: reason})
}

// signalGroup signals the process group led by pid, unless the leader was already reaped (then
// the group id may belong to someone else).
func signalGroup(pid int, sig syscall.Signal, reaped *atomic.Bool) {
	if reaped.Load() {
		return
	}
	_ = syscall.Kill(-pid, sig)
}

// classify turns a process's end into an exit status (-1 for a signal) and a reason.
func classify(ps *os.ProcessState, stopping bool) (int, string) {
	if ps == nil {
		return -1, ReasonError
	}
	code := ps.ExitCode()
	if stopping {
		return code, ReasonStopped
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		if ws.Signal() == syscall.SIGKILL {
			return -1, ReasonKilled
		}
		return -1, ReasonSignal
	}
	if code == 0 {
		return 0, ReasonClean
	}
	return code, ReasonError
}

// follow reads f to EOF and calls line for each line (without its newline), then closes f.
// It reads f itself, each line as it arrives, until the attempt's first segment; from then on,
// with c.Logs, it hands f over and c.Logs reads it with every other client's pipes (lines
// then arrive up to an interval late: see LogReader).
func (c Client) follow(f *os.File, sess *ffmpeg.Session, log *slog.Logger, line func(string, time.Time)) {
	lp := &logPipe{line: line}
	if c.Logs == nil || !readUntil(f, lp, sess.GotFirstSegment) {
		if c.Logs == nil {
			readUntil(f, lp, func() bool { return false })
		}
		f.Close()
		return
	}
	done, err := c.Logs.adopt(f, lp)
	if err != nil {
		log.Debug("pipe stays with the client", "err", err)
		readUntil(f, lp, func() bool { return false })
		f.Close()
		return
	}
	<-done
}

// readUntil feeds what f delivers, as it arrives, to p's line splitter until stop() holds after
// a read (true; an unended line stays in p) or f ends (false; the last line is flushed).
func readUntil(f *os.File, p *logPipe, stop func() bool) bool {
	buf := make([]byte, 4096)
	for {
		n, err := f.Read(buf)
		now := time.Now()
		p.feed(buf[:n], now)
		if err != nil {
			if len(p.carry) > 0 {
				p.line(string(p.carry), now)
				p.carry = nil
			}
			return false
		}
		if stop() {
			return true
		}
	}
}

// lastLines keeps the last few warning/error lines of a process, for the exit log.
type lastLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *lastLines) add(e ffmpeg.LogEntry, line string) {
	switch e.Level {
	case "warning", "error", "fatal", "panic":
	default:
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
	if len(l.lines) > 3 {
		l.lines = l.lines[len(l.lines)-3:]
	}
}

func (l *lastLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprint(l.lines)
}

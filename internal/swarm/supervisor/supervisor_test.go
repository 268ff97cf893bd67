package supervisor

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/backoff"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/event"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

type recorder struct {
	mu  sync.Mutex
	all []event.Event
}

func (r *recorder) Handle(e event.Event) { r.mu.Lock(); r.all = append(r.all, e); r.mu.Unlock() }

func (r *recorder) of(k event.Kind) []event.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []event.Event
	for _, e := range r.all {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

func newClient(t *testing.T, script string, restart bool) (Client, *recorder) {
	t.Helper()
	sh := testenv.RequireBinary(t, "sh")
	rec := &recorder{}
	return Client{Index: 4, Argv: []string{sh, "-c", script}, Restart: restart,
		Backoff:     backoff.New(400*time.Millisecond, rand.New(rand.NewPCG(1, 1))),
		GracePeriod: 500 * time.Millisecond, Sink: rec,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, rec
}

// procsWith lists PIDs whose command line contains s.
func procsWith(s string) []string {
	var pids []string
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		if b, err := os.ReadFile(filepath.Join(d, "cmdline")); err == nil && strings.Contains(string(b), s) {
			pids = append(pids, filepath.Base(d))
		}
	}
	return pids
}

func TestExitReasons(t *testing.T) {
	tests := []struct {
		script string
		reason string
		status int
	}{
		{"exit 0", ReasonClean, 0},
		{"exit 3", ReasonError, 3},
		{"kill -TERM $$", ReasonSignal, -1},
		{"kill -KILL $$", ReasonKilled, -1},
	}
	for _, tt := range tests {
		t.Run(tt.script, func(t *testing.T) {
			c, rec := newClient(t, tt.script, false)
			c.Run(context.Background())
			started, exited := rec.of(event.ClientStarted), rec.of(event.ClientExited)
			if len(started) != 1 || len(exited) != 1 || len(rec.of(event.ClientRestartScheduled)) != 0 {
				t.Fatalf("without restart: %d started, %d exited, events %v", len(started), len(exited), rec.all)
			}
			if e := exited[0]; e.Reason != tt.reason || e.Status != tt.status || e.Client != 4 || e.Attempt != 0 {
				t.Fatalf("exit %+v, want reason %s status %d", e, tt.reason, tt.status)
			}
		})
	}
}

func TestEventsFromPipes(t *testing.T) {
	script := `printf 'frame=25\nout_time_us=1000000\ntotal_size=4096\nspeed=1.5x\nprogress=continue\n' >&3
echo "[hls @ 0x1] [verbose] HLS request for url 'http://h/a.ts', offset 0, playlist 0" >&2
echo "[http @ 0x2] [warning] HTTP error 404 Not Found" >&2
exit 0`
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("LogReader=%v", shared), func(t *testing.T) {
			c, rec := newClient(t, script, false)
			if shared {
				c.Logs = NewLogReader(20 * time.Millisecond)
				t.Cleanup(c.Logs.Close)
			}
			c.Run(context.Background())
			if p := rec.of(event.Progress); len(p) != 1 || p[0].Speed != 1.5 {
				t.Errorf("progress %+v", p)
			}
			// Requests and errors are the meter's to count, not FFmpeg's log's.
			if n := len(rec.of(event.Request)); n != 0 {
				t.Errorf("%d request events from FFmpeg's log", n)
			}
		})
	}
}

func TestRestartWithGrowingBackoff(t *testing.T) {
	c, rec := newClient(t, "exit 1", true)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	testenv.WaitFor(t, 30*time.Second, "4 starts", func() bool { return len(rec.of(event.ClientStarted)) >= 4 })
	cancel()
	<-done
	sched := rec.of(event.ClientRestartScheduled)
	started := rec.of(event.ClientStarted)
	if len(sched) < 3 {
		t.Fatalf("%d restarts scheduled", len(sched))
	}
	// Cap 400 ms: ceilings 400, 400, 400 … (initial = min(500ms, cap)); each in [200, 400] ms.
	for i, e := range sched {
		if e.Elapsed < 200*time.Millisecond || e.Elapsed > 400*time.Millisecond || e.Attempt != i {
			t.Errorf("restart %d: %+v", i, e)
		}
		if i+1 < len(started) {
			if gap := started[i+1].Time.Sub(e.Time); gap < e.Elapsed {
				t.Errorf("attempt %d started %s after scheduling, before its delay %s", i+1, gap, e.Elapsed)
			}
			if started[i+1].Attempt != i+1 {
				t.Errorf("attempt numbering: %+v", started[i+1])
			}
		}
	}
}

// TestHealthyAttemptResetsBackoff: an attempt that got media and lived HealthyAfter resets the
// backoff, so its restart waits no longer than the first one.
func TestHealthyAttemptResetsBackoff(t *testing.T) {
	script := `printf 'frame=1\nspeed=1x\nprogress=continue\n' >&3; sleep 0.3; exit 1`
	c, rec := newClient(t, script, true)
	c.Backoff = backoff.New(10*time.Second, rand.New(rand.NewPCG(5, 5)))
	c.HealthyAfter = 200 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	testenv.WaitFor(t, 30*time.Second, "3 restarts", func() bool { return len(rec.of(event.ClientRestartScheduled)) >= 3 })
	cancel()
	<-done
	for _, e := range rec.of(event.ClientRestartScheduled) {
		if e.Elapsed > 500*time.Millisecond {
			t.Errorf("restart after a healthy attempt waits %s, want ≤ 500ms (reset)", e.Elapsed)
		}
	}
}

func TestStopGracefully(t *testing.T) {
	marker := fmt.Sprintf("%d.%03d", 500+rand.IntN(400), rand.IntN(1000))
	c, rec := newClient(t, `trap 'exit 0' TERM; sleep `+marker+` & wait`, true)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	testenv.WaitFor(t, 10*time.Second, "sh and its sleep", func() bool { return len(procsWith(marker)) == 2 })
	cancel()
	<-done
	ex := rec.of(event.ClientExited)
	if len(ex) != 1 || ex[0].Reason != ReasonStopped || ex[0].Status != 0 {
		t.Fatalf("exits %+v", ex)
	}
	if len(rec.of(event.ClientRestartScheduled)) != 0 {
		t.Error("restart scheduled while stopping")
	}
	// SIGTERM went to the whole group: the sleep is gone too.
	testenv.WaitFor(t, 5*time.Second, "the grandchild to die", func() bool { return len(procsWith(marker)) == 0 })
}

func TestStopEscalatesToSIGKILL(t *testing.T) {
	marker := fmt.Sprintf("%d.%03d", 500+rand.IntN(400), rand.IntN(1000))
	// Ignored signals stay ignored across exec: neither sh nor sleep dies of SIGTERM.
	c, rec := newClient(t, `trap '' TERM; sleep `+marker, false)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	testenv.WaitFor(t, 10*time.Second, "the child's sleep", func() bool { return len(procsWith(marker)) >= 1 })
	start := time.Now()
	cancel()
	<-done
	if waited := time.Since(start); waited < c.GracePeriod {
		t.Errorf("Run returned %s after cancel, before the %s grace period", waited, c.GracePeriod)
	}
	ex := rec.of(event.ClientExited)
	if len(ex) != 1 || ex[0].Reason != ReasonStopped || ex[0].Status != -1 {
		t.Fatalf("exits %+v", ex)
	}
	if left := procsWith(marker); len(left) != 0 {
		t.Fatalf("processes of the group survived SIGKILL: %v", left)
	}
}

func TestStartFailure(t *testing.T) {
	rec := &recorder{}
	c := Client{Index: 1, Argv: []string{"/nonexistent/ffmpeg"}, Sink: rec, GracePeriod: time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	c.Run(context.Background())
	ex := rec.of(event.ClientExited)
	if len(ex) != 1 || ex[0].Reason != ReasonError || len(rec.of(event.ClientStarted)) != 0 {
		t.Fatalf("events %+v", rec.all)
	}
}

// TestStopSendsSecondSIGTERM: a child that acts only on the second SIGTERM (as FFmpeg's
// blocking I/O does) exits by itself before the grace period, not by SIGKILL.
func TestStopSendsSecondSIGTERM(t *testing.T) {
	marker := fmt.Sprintf("%d.%03d", 500+rand.IntN(400), rand.IntN(1000))
	c, rec := newClient(t, `n=0; trap 'n=$((n+1)); if [ $n -ge 2 ]; then exit 0; fi' TERM
while :; do sleep 0.05; done; : `+marker, false)
	c.GracePeriod = 2 * time.Second
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	testenv.WaitFor(t, 10*time.Second, "the shell", func() bool { return len(procsWith(marker)) >= 1 })
	cancel()
	<-done
	ex := rec.of(event.ClientExited)
	if len(ex) != 1 || ex[0].Reason != ReasonStopped || ex[0].Status != 0 {
		t.Fatalf("exits %+v, want stopped with status 0 (exited on the second SIGTERM, not SIGKILLed)", ex)
	}
}

// TestFinishedStopsAfterCleanExit: with Finished (a VOD stream), a clean exit ends the client;
// an error exit is still restarted.
func TestFinishedStopsAfterCleanExit(t *testing.T) {
	c, rec := newClient(t, "exit 0", true)
	c.Finished = func() bool { return true }
	c.Run(context.Background())
	if n := len(rec.of(event.ClientStarted)); n != 1 || len(rec.of(event.ClientRestartScheduled)) != 0 {
		t.Errorf("clean exit of a finished stream: %d starts, %d restarts scheduled", n, len(rec.of(event.ClientRestartScheduled)))
	}
	c, rec = newClient(t, "exit 1", true)
	c.Finished = func() bool { return true }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	testenv.WaitFor(t, 30*time.Second, "a restart after an error exit", func() bool { return len(rec.of(event.ClientStarted)) >= 2 })
	cancel()
	<-done
}

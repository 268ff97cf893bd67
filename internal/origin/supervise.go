package origin

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"
)

// backoff is the restart policy of a supervised process: the delay grows by Factor per
// consecutive failure from Base up to Max, with ±Jitter, and the count resets once a run lasted
// ResetAfter (a process that ran that long was healthy; its next crash starts afresh).
type backoff struct {
	Base, Max  time.Duration
	Factor     float64
	Jitter     float64
	ResetAfter time.Duration
}

var defaultBackoff = backoff{Base: 250 * time.Millisecond, Max: 5 * time.Second, Factor: 1.7, Jitter: 0.2, ResetAfter: 30 * time.Second}

// delay returns the wait before restart number failures (1 = the first restart), before jitter.
func (b backoff) delay(failures int) time.Duration {
	d := float64(b.Base)
	for i := 1; i < failures && d < float64(b.Max); i++ {
		d *= b.Factor
	}
	return min(time.Duration(d), b.Max)
}

func (b backoff) jittered(failures int) time.Duration {
	d := float64(b.delay(failures))
	return time.Duration(d * (1 + b.Jitter*(2*rand.Float64()-1)))
}

// supervise calls run until ctx ends, restarting it after each exit with backoff.
func supervise(ctx context.Context, log *slog.Logger, name string, b backoff, run func(context.Context) error) {
	failures := 0
	for {
		start := time.Now()
		err := run(ctx)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) >= b.ResetAfter {
			failures = 0
		}
		failures++
		wait := b.jittered(failures)
		log.Warn(name+" exited; restarting", "err", err, "ran", time.Since(start).Round(time.Millisecond), "restart_in", wait.Round(time.Millisecond), "restarts", failures)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

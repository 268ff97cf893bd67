package origin

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/backoff"
)

// supervise calls run until ctx ends, restarting it after each exit with the project's one
// backoff policy (internal/backoff). A run that stayed up backoff.DefaultHealthyAfter was healthy:
// the next crash starts again from the shortest delay.
func supervise(ctx context.Context, log *slog.Logger, name string, b *backoff.Backoff, run func(context.Context) error) {
	for {
		start := time.Now()
		err := run(ctx)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) >= backoff.DefaultHealthyAfter {
			b.Reset()
		}
		wait := b.Next()
		log.Warn(name+" exited; restarting", "err", err, "ran", time.Since(start).Round(time.Millisecond), "restart_in", wait.Round(time.Millisecond), "restarts", b.Failures())
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// newBackoff is the restart backoff of one of the origin's processes, with the default cap.
func newBackoff() *backoff.Backoff {
	return backoff.New(0, rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())))
}

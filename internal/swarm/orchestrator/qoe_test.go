package orchestrator_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/event"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/metrics"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

// TestQoEOneStallWhenSegmentsHeld: on a steady 2 s-segment live stream, the origin holds every
// segment response for 12 s once. Each client stalls exactly once, for 12 s minus the media it
// had buffered when the hold began (±1 s); before the hold, no client stalled.
func TestQoEOneStallWhenSegmentsHeld(t *testing.T) {
	const clients, hold = 3, 12 * time.Second
	s := startLiveStreamWith(t, false, streamOptions{SegmentSeconds: 2, VideoBitrateK: 300})
	cfg, _ := swarmConfig(t, clients)
	cfg.Timeout = 30 * time.Second // longer than the hold: nothing times out
	var holdUntil atomic.Int64
	front := startFront(t, s.Dir, nil)
	front.hold = func() time.Time { return time.Unix(0, holdUntil.Load()) }
	cfg.URL = front.URL()
	col := metrics.New("test")
	rec := &recorder{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runSwarmCtx(ctx, cfg, event.Fanout{rec, col}) }()
	t.Cleanup(func() { cancel(); <-done })

	received := func(e event.Event) time.Time { return e.Time.Add(e.Elapsed) }
	playStart := map[int]time.Time{}
	testenv.WaitFor(t, 90*time.Second, "every client playing for 12 s", func() bool {
		for _, e := range rec.all(event.Request, okSegment) {
			if _, ok := playStart[e.Client]; !ok {
				playStart[e.Client] = received(e)
			}
		}
		if len(playStart) < clients {
			return false
		}
		for _, p := range playStart {
			if time.Since(p) < 12*time.Second {
				return false
			}
		}
		return true
	})
	before, _ := col.QoE()
	holdAt := time.Now()
	holdUntil.Store(holdAt.Add(hold).UnixNano())
	testenv.WaitFor(t, 90*time.Second, "two segments per client after the hold", func() bool {
		after := rec.perClientMatch(event.Request, func(e event.Event) bool {
			return okSegment(e) && received(e).After(holdAt.Add(hold))
		})
		for i := 0; i < clients; i++ {
			if after[i] < 2 {
				return false
			}
		}
		return true
	})
	q, _ := col.QoE()
	for i := 0; i < clients; i++ {
		if before[i].Stalls != 0 {
			t.Errorf("client %d stalled %d times before the hold", i, before[i].Stalls)
		}
		var media time.Duration
		for _, e := range rec.all(event.Request, func(e event.Event) bool {
			return okSegment(e) && e.Client == i && !received(e).After(holdAt)
		}) {
			media += e.Media
		}
		buffered := media - holdAt.Sub(playStart[i])
		want := hold - buffered
		got := q[i].Rebuffer - before[i].Rebuffer
		t.Logf("client %d: %s buffered when the hold began; stall %s, want %s ± 1s", i, buffered.Round(time.Millisecond),
			got.Round(time.Millisecond), want.Round(time.Millisecond))
		if q[i].Stalls != 1 || got < want-time.Second || got > want+time.Second {
			t.Errorf("client %d: %d stalls lasting %s, want 1 of %s ± 1s", i, q[i].Stalls, got, want)
		}
	}
}

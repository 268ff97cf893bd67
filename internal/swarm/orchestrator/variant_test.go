package orchestrator_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/event"
)

// TestVariantsLive plays a live two-variant stream with each --variant and checks which
// variant's segments the client fetched. With the master playlist as input (all, first) FFmpeg
// probes every variant before it knows the mapping, so "first" may fetch the other variant's
// first segments — but only before its first media is out.
func TestVariantsLive(t *testing.T) {
	s := startLiveStreamWith(t, false, streamOptions{SegmentSeconds: 1, VideoBitrateK: 200, TwoVariants: true})
	tests := []struct {
		variant    string
		low, high  bool // want stream_0_* (200k) / stream_1_* (600k) segments once playing
		playlistOf string
	}{
		{"all", true, true, ""},
		{"first", true, false, ""},
		{"highest", false, true, "stream_1.m3u8"},
		{"lowest", true, false, "stream_0.m3u8"},
	}
	recs := make([]*recorder, len(tests))
	var wg sync.WaitGroup
	for i, tt := range tests {
		cfg, _ := swarmConfig(t, 1)
		cfg.URL, cfg.Variant, cfg.Duration = s.PlaylistURL, tt.variant, 10*time.Second
		recs[i] = &recorder{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := runSwarmCtx(context.Background(), cfg, recs[i]); err != nil {
				t.Errorf("%s: %v", tt.variant, err)
			}
		}()
	}
	wg.Wait()
	for i, tt := range tests {
		// Playing starts with FFmpeg's first progress block with a speed: after it probed the
		// first segment of every variant.
		firsts := recs[i].all(event.Progress, func(e event.Event) bool { return e.Speed > 0 })
		if len(firsts) == 0 {
			t.Fatalf("%s: FFmpeg never played", tt.variant)
		}
		playing := func(e event.Event) bool { return isSegment(e) && e.Time.After(firsts[0].Time) }
		var low, high int
		for _, e := range recs[i].all(event.Request, playing) {
			switch {
			case strings.Contains(e.URL, "/stream_0_"):
				low++
			case strings.Contains(e.URL, "/stream_1_"):
				high++
			default:
				t.Errorf("%s: unexpected segment %s", tt.variant, e.URL)
			}
		}
		if (low > 0) != tt.low || (high > 0) != tt.high || low+high < 5 {
			t.Errorf("%s: %d low-variant and %d high-variant segments; want low=%v high=%v, ≥ 5 in all",
				tt.variant, low, high, tt.low, tt.high)
		}
		if tt.playlistOf != "" {
			for _, e := range recs[i].all(event.Request, isPlaylist) {
				if !strings.HasSuffix(e.URL, "/"+tt.playlistOf) {
					t.Errorf("%s: playlist request %s, want only %s", tt.variant, e.URL, tt.playlistOf)
				}
			}
		}
	}
}

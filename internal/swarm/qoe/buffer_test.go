package qoe

import (
	"testing"
	"time"
)

func TestBuffer(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	const seg = 2 * time.Second
	type step struct {
		at    float64
		media time.Duration // 0: End instead of a segment
	}
	tests := []struct {
		name     string
		steps    []step
		now      float64
		stalls   int
		rebuffer time.Duration
		watched  time.Duration
		stalled  bool
	}{
		// A live client: three segments at start-up (6 s buffered), then one every 2 s.
		{"steady live", []step{{1, seg}, {1.1, seg}, {1.2, seg}, {3, seg}, {5, seg}, {7, seg}, {9, seg}}, 10, 0, 0, 9 * time.Second, false},
		// The same, with the segment due at 5 s held until 17 s: 6 s buffered at 3 s, empty at 9 s,
		// media again at 17 s: one stall of 8 s (the 12 s hold minus ~4 s left when it began).
		{"held 12 s", []step{{1, seg}, {1.1, seg}, {1.2, seg}, {3, seg}, {17, seg}, {17.1, seg}}, 18, 1, 8 * time.Second, 17 * time.Second, false},
		// Stalled at the end of the run: the open stall counts up to now.
		{"open stall", []step{{0, seg}}, 5, 1, 3 * time.Second, 5 * time.Second, true},
		// A restart is a new session; a stall open at the process end ends with it.
		{"restart", []step{{0, seg}, {4, 0}, {5, 0}}, 6, 1, 2 * time.Second, 4 * time.Second, false},
		{"nothing received", nil, 10, 0, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b Buffer
			b.Start(t0)
			for _, s := range tt.steps {
				if s.media == 0 {
					b.End(at(s.at))
					b.Start(at(s.at))
					continue
				}
				b.Segment(at(s.at), s.media, 500_000)
			}
			got := b.Totals(at(tt.now))
			if got.Stalls != tt.stalls || got.Rebuffer != tt.rebuffer || got.Watched != tt.watched || got.Stalled != tt.stalled {
				t.Errorf("totals %+v; want stalls %d, rebuffer %s, watched %s, stalled %v", got, tt.stalls, tt.rebuffer, tt.watched, tt.stalled)
			}
		})
	}
}

func TestStartupAndBitrate(t *testing.T) {
	t0 := time.Now()
	var b Buffer
	if _, first := b.Segment(t0, time.Second, 1); first {
		t.Fatal("a segment before Start counted")
	}
	b.Start(t0)
	up, first := b.Segment(t0.Add(700*time.Millisecond), 2*time.Second, 500_000)
	if !first || up != 700*time.Millisecond {
		t.Errorf("startup %s first %v", up, first)
	}
	if _, first := b.Segment(t0.Add(time.Second), 2*time.Second, 500_000); first {
		t.Error("second segment counted as first")
	}
	b.Segment(t0.Add(time.Second), 0, 1234) // unknown duration: not in the bitrate
	if got := b.Totals(t0.Add(2 * time.Second)).Bitrate(); got != 2_000_000 {
		t.Errorf("bitrate %g, want 2 Mb/s", got)
	}
}

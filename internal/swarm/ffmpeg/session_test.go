package ffmpeg

import (
	"sync"
	"testing"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/event"
)

type events struct {
	mu  sync.Mutex
	all []event.Event
}

func (r *events) Handle(e event.Event) { r.mu.Lock(); r.all = append(r.all, e); r.mu.Unlock() }

func (r *events) kinds() map[event.Kind]int {
	m := map[event.Kind]int{}
	for _, e := range r.all {
		m[e.Kind]++
	}
	return m
}

// TestSessionFirstSegmentAndSpeed: FFmpeg's progress says when media arrived (for the
// supervisor's backoff reset) and the playback speed; requests and bytes come from the meter.
func TestSessionFirstSegmentAndSpeed(t *testing.T) {
	rec := &events{}
	start := time.Now()
	s := NewSession(0, 0, rec)
	blocks := readProgressFile(t, "testdata/7.1/live.progress.txt") // real FFmpeg 7.1: 35 blocks, media from the first
	for i, b := range blocks {
		s.Progress(b, start.Add(time.Duration(i+1)*time.Second))
	}
	k := rec.kinds()
	if k[event.Progress] != 35 || len(k) != 1 {
		t.Fatalf("events %v", k)
	}
	last := rec.all[len(rec.all)-1]
	if last.Kind != event.Progress || last.Speed != 1.08 {
		t.Errorf("last progress %+v", last)
	}
	if !s.GotFirstSegment() {
		t.Error("GotFirstSegment false")
	}
}

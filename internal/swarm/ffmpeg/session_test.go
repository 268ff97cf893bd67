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
	s := NewSession(0, 0, start, 5*time.Second, rec)
	blocks := readProgressFile(t, "testdata/7.1/live.progress.txt") // real FFmpeg 7.1: 35 blocks, media from the first
	for i, b := range blocks {
		s.Progress(b, start.Add(time.Duration(i+1)*time.Second))
	}
	k := rec.kinds()
	if k[event.Progress] != 3 || len(k) != 1 {
		t.Fatalf("events %v", k)
	}
	last := rec.all[len(rec.all)-1]
	if last.Kind != event.Progress || last.Speed != 0.999 {
		t.Errorf("last progress %+v", last)
	}
	if !s.GotFirstSegment() {
		t.Error("GotFirstSegment false")
	}
}

// TestSessionStall drives a fake clock: speed below 1 for the threshold starts a stall, speed
// back to 1 ends it; silence (no progress) counts as speed 0.
func TestSessionStall(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	block := func(speed float64) Progress {
		return Progress{Frame: 10, OutTime: time.Second, OutTimeKnown: true, Speed: speed, SpeedKnown: true, TotalSize: 100}
	}
	type step struct {
		at    float64
		speed float64 // <0: a Tick instead of a progress block
	}
	tests := []struct {
		name  string
		steps []step
		want  []event.Kind // stall events in order
	}{
		{"steady", []step{{1, 1.2}, {2, 1.1}, {3, 1.0}, {9, 1.0}}, nil},
		{"short dip", []step{{1, 1.2}, {2, 0.9}, {5, 0.8}, {6.9, 0.9}, {7, 1.0}, {8, -1}, {11.9, -1}}, nil},
		{"stall and recover", []step{{1, 1.2}, {2, 0.9}, {4, 0.8}, {7, 0.7}, {8, 0.6}, {9, 1.01}},
			[]event.Kind{event.StallStarted, event.StallEnded}},
		{"silence", []step{{1, 1.2}, {3, -1}, {5.9, -1}, {6, -1}, {7, -1}, {8, 1.5}},
			[]event.Kind{event.StallStarted, event.StallEnded}},
		{"no stall before media", []step{{10, -1}, {20, -1}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &events{}
			s := NewSession(1, 0, t0, 5*time.Second, rec)
			for _, st := range tt.steps {
				if st.speed < 0 {
					s.Tick(at(st.at))
				} else {
					s.Progress(block(st.speed), at(st.at))
				}
			}
			var got []event.Kind
			for _, e := range rec.all {
				if e.Kind == event.StallStarted || e.Kind == event.StallEnded {
					got = append(got, e.Kind)
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("stall events %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("stall events %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestSessionCloseEndsStall(t *testing.T) {
	rec := &events{}
	t0 := time.Now()
	s := NewSession(0, 0, t0, time.Second, rec)
	s.Progress(Progress{Frame: 1, Speed: 0.5, SpeedKnown: true, TotalSize: -1}, t0)
	s.Progress(Progress{Frame: 2, Speed: 0.5, SpeedKnown: true, TotalSize: -1}, t0.Add(2*time.Second))
	s.Close(t0.Add(3 * time.Second))
	k := rec.kinds()
	if k[event.StallStarted] != 1 || k[event.StallEnded] != 1 {
		t.Fatalf("events %v", k)
	}
}

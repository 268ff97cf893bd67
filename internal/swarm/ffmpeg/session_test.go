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

func (r *events) statuses() map[int]int {
	m := map[int]int{}
	for _, e := range r.all {
		if e.Kind == event.HTTPError {
			m[e.Status]++
		}
	}
	return m
}

// TestSessionLogFiles turns each sample into events. Playlist requests are the "Opening" lines
// of .m3u8 URLs (grep -c "Opening '.*m3u8'"); an HTTP error counts once per failed HTTP request,
// and a "Failed to open segment/reload playlist" line only when no cause was logged before it.
func TestSessionLogFiles(t *testing.T) {
	tests := []struct {
		file     string
		kinds    map[event.Kind]int
		statuses map[int]int
	}{
		{"5.1/live.stderr.log", map[event.Kind]int{event.SegmentRequest: 22, event.PlaylistRequest: 17}, nil},
		{"5.1/live-debug.stderr.log", map[event.Kind]int{event.SegmentRequest: 11, event.PlaylistRequest: 9}, nil},
		{"5.1/segment-404-retried.stderr.log", map[event.Kind]int{event.SegmentRequest: 21, event.PlaylistRequest: 17,
			event.HTTPError: 6, event.Reconnect: 6}, map[int]int{404: 6}},
		{"5.1/segment-404.stderr.log", map[event.Kind]int{event.SegmentRequest: 21, event.PlaylistRequest: 21,
			event.HTTPError: 8, event.Reconnect: 4}, map[int]int{404: 8}},
		{"5.1/segment-500.stderr.log", map[event.Kind]int{event.SegmentRequest: 21, event.PlaylistRequest: 17,
			event.HTTPError: 6, event.Reconnect: 6}, map[int]int{500: 6}},
		{"5.1/truncated-segment.stderr.log", map[event.Kind]int{event.SegmentRequest: 21, event.PlaylistRequest: 17,
			event.HTTPError: 5}, map[int]int{0: 5}},
		{"5.1/origin-down.stderr.log", map[event.Kind]int{event.SegmentRequest: 6, event.PlaylistRequest: 3,
			event.HTTPError: 2}, map[int]int{0: 2}},
		{"5.1/origin-stalled.stderr.log", map[event.Kind]int{event.SegmentRequest: 6, event.PlaylistRequest: 3,
			event.Timeout: 1, event.HTTPError: 1}, map[int]int{0: 1}},
		{"5.1/origin-refused.stderr.log", map[event.Kind]int{event.HTTPError: 3, event.Reconnect: 2}, map[int]int{0: 3}},
		{"6.1/session.stderr.log", map[event.Kind]int{event.SegmentRequest: 6, event.PlaylistRequest: 2,
			event.HTTPError: 6, event.Reconnect: 1, event.Timeout: 1}, map[int]int{404: 3, 503: 1, 0: 2}},
		{"7.1/live.stderr.log", map[event.Kind]int{event.SegmentRequest: 21, event.PlaylistRequest: 17}, nil},
		{"7.1/live-debug.stderr.log", map[event.Kind]int{event.SegmentRequest: 22, event.PlaylistRequest: 19}, nil},
		{"7.1/segment-404-retried.stderr.log", map[event.Kind]int{event.SegmentRequest: 21, event.PlaylistRequest: 17,
			event.HTTPError: 6, event.Reconnect: 6}, map[int]int{404: 6}},
		{"7.1/segment-404.stderr.log", map[event.Kind]int{event.SegmentRequest: 22, event.PlaylistRequest: 20,
			event.HTTPError: 8, event.Reconnect: 4}, map[int]int{404: 8}},
		{"7.1/segment-500.stderr.log", map[event.Kind]int{event.SegmentRequest: 22, event.PlaylistRequest: 17,
			event.HTTPError: 7, event.Reconnect: 7}, map[int]int{500: 7}},
		{"7.1/truncated-segment.stderr.log", map[event.Kind]int{event.SegmentRequest: 21, event.PlaylistRequest: 17,
			event.HTTPError: 5}, map[int]int{0: 5}},
		{"7.1/origin-down.stderr.log", map[event.Kind]int{event.SegmentRequest: 6, event.PlaylistRequest: 3,
			event.HTTPError: 2}, map[int]int{0: 2}},
		{"7.1/origin-stalled.stderr.log", map[event.Kind]int{event.SegmentRequest: 6, event.PlaylistRequest: 2,
			event.Timeout: 1, event.HTTPError: 1}, map[int]int{0: 1}},
		{"7.1/origin-refused.stderr.log", map[event.Kind]int{event.HTTPError: 3, event.Reconnect: 2}, map[int]int{0: 3}},
		{"9.0/live.stderr.log", map[event.Kind]int{event.SegmentRequest: 20, event.PlaylistRequest: 14}, nil},
		{"9.0/live-debug.stderr.log", map[event.Kind]int{event.SegmentRequest: 21, event.PlaylistRequest: 17}, nil},
		{"9.0/segment-404-retried.stderr.log", map[event.Kind]int{event.SegmentRequest: 21, event.PlaylistRequest: 16,
			event.HTTPError: 6, event.Reconnect: 6}, map[int]int{404: 6}},
		{"9.0/segment-404.stderr.log", map[event.Kind]int{event.SegmentRequest: 30, event.PlaylistRequest: 15,
			event.HTTPError: 18, event.Reconnect: 4}, map[int]int{404: 18}},
		{"9.0/segment-500.stderr.log", map[event.Kind]int{event.SegmentRequest: 20, event.PlaylistRequest: 16,
			event.HTTPError: 6, event.Reconnect: 6}, map[int]int{500: 6}},
		{"9.0/truncated-segment.stderr.log", map[event.Kind]int{event.SegmentRequest: 21, event.PlaylistRequest: 16,
			event.HTTPError: 5}, map[int]int{0: 5}},
		{"9.0/origin-down.stderr.log", map[event.Kind]int{event.SegmentRequest: 4, event.PlaylistRequest: 1,
			event.HTTPError: 2}, map[int]int{0: 2}},
		// Each "Failed to reload playlist" follows a timeout it reports (not a second error), unlike 5.1/7.1's last one.
		{"9.0/origin-stalled.stderr.log", map[event.Kind]int{event.SegmentRequest: 3, event.PlaylistRequest: 1,
			event.Timeout: 4}, nil},
		{"9.0/origin-refused.stderr.log", map[event.Kind]int{event.HTTPError: 3, event.Reconnect: 2}, map[int]int{0: 3}},
		{"8.0/session.stderr.log", map[event.Kind]int{event.SegmentRequest: 6, event.PlaylistRequest: 2,
			event.HTTPError: 6, event.Reconnect: 3, event.Timeout: 1}, map[int]int{404: 3, 503: 1, 0: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			rec := &events{}
			start := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
			s := NewSession(7, 2, start, 5*time.Second, rec)
			forLines(t, "testdata/"+tt.file, func(line string) { s.LogLine(line, start) })
			got := rec.kinds()
			for k, n := range tt.kinds {
				if got[k] != n {
					t.Errorf("%s: %d events, want %d", k, got[k], n)
				}
			}
			for k, n := range got {
				if _, ok := tt.kinds[k]; !ok {
					t.Errorf("unexpected %d %s events", n, k)
				}
			}
			if tt.statuses != nil {
				st := rec.statuses()
				for code, n := range tt.statuses {
					if st[code] != n {
						t.Errorf("HTTP %d: %d errors, want %d (all: %v)", code, st[code], n, st)
					}
				}
			}
			for _, e := range rec.all {
				if e.Client != 7 || e.Attempt != 2 {
					t.Fatalf("event without client/attempt: %+v", e)
				}
				if (e.Kind == event.SegmentRequest || e.Kind == event.PlaylistRequest) && e.URL == "" {
					t.Fatalf("request without URL: %+v", e)
				}
			}
		})
	}
}

func TestSessionFirstSegmentAndBytes(t *testing.T) {
	rec := &events{}
	start := time.Now()
	s := NewSession(0, 0, start, 5*time.Second, rec)
	blocks := readProgressFile(t, "testdata/7.1/live.progress.txt") // real FFmpeg 7.1: 35 blocks, media from the first
	for i, b := range blocks {
		s.Progress(b, start.Add(time.Duration(i+1)*time.Second))
	}
	k := rec.kinds()
	if k[event.FirstSegment] != 1 || k[event.Progress] != 35 {
		t.Fatalf("events %v", k)
	}
	for _, e := range rec.all {
		if e.Kind == event.FirstSegment && e.Elapsed != time.Second {
			t.Errorf("first segment after %s, want 1s (the first block, frame=73)", e.Elapsed)
		}
	}
	last := rec.all[len(rec.all)-1]
	if last.Kind != event.Progress || last.Bytes != 2275364 || last.Speed != 1.08 {
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

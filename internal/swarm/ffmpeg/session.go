package ffmpeg

import (
	"sync"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/event"
)

// Session follows what one FFmpeg process prints (stderr lines and -progress blocks) for one
// client attempt: whether media arrived and the playback speed. Requests, bytes and errors are
// not read from FFmpeg's output: the client's metering proxy (internal/swarm/meter) measures
// them. It is safe for concurrent use: stderr and the progress pipe are read by different
// goroutines.
type Session struct {
	client, attempt int
	start           time.Time
	stallAfter      time.Duration
	sink            event.Sink

	mu           sync.Mutex
	gotFirst     bool
	lastProgress time.Time
	slowSince    time.Time
	stalled      bool
	closed       bool
}

// NewSession starts observing client's attempt, whose process started at start. A client is
// stalled when FFmpeg's speed stays below 1 (or no progress arrives) for stallAfter.
func NewSession(client, attempt int, start time.Time, stallAfter time.Duration, sink event.Sink) *Session {
	return &Session{client: client, attempt: attempt, start: start, stallAfter: stallAfter, sink: sink}
}

func (s *Session) emit(e event.Event) {
	e.Client, e.Attempt = s.client, s.attempt
	s.sink.Handle(e)
}

// LogLine parses one stderr line (for the warnings kept for the exit log).
func (s *Session) LogLine(line string, _ time.Time) LogEntry { return ParseLogLine(line) }

// Progress handles one -progress block seen at now.
func (s *Session) Progress(p Progress, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if !s.gotFirst && (p.Frame > 0 || (p.OutTimeKnown && p.OutTime > 0)) {
		s.gotFirst = true
	}
	s.emit(event.Event{Kind: event.Progress, Time: now, Speed: p.Speed})
	if !s.gotFirst || !p.SpeedKnown {
		return
	}
	s.lastProgress = now
	if p.Speed >= 1 {
		s.slowSince = time.Time{}
		if s.stalled {
			s.stalled = false
			s.emit(event.Event{Kind: event.StallEnded, Time: now})
		}
		return
	}
	if s.slowSince.IsZero() {
		s.slowSince = now
	}
	s.checkStall(now)
}

// Tick lets the session notice a stall when FFmpeg prints nothing (blocked on the network):
// no progress for stallAfter counts as speed 0. Call it about once a second.
func (s *Session) Tick(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || !s.gotFirst || s.stalled {
		return
	}
	if s.slowSince.IsZero() && now.Sub(s.lastProgress) >= s.stallAfter {
		s.slowSince = s.lastProgress
	}
	s.checkStall(now)
}

func (s *Session) checkStall(now time.Time) {
	if !s.stalled && !s.slowSince.IsZero() && now.Sub(s.slowSince) >= s.stallAfter {
		s.stalled = true
		s.emit(event.Event{Kind: event.StallStarted, Time: now, Elapsed: now.Sub(s.slowSince)})
	}
}

// Close ends an open stall (the process is gone); later progress and ticks are ignored.
func (s *Session) Close(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.stalled {
		s.stalled = false
		s.emit(event.Event{Kind: event.StallEnded, Time: now})
	}
}

// GotFirstSegment reports whether media has arrived in this attempt.
func (s *Session) GotFirstSegment() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gotFirst
}

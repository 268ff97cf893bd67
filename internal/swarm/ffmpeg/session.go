package ffmpeg

import (
	"sync"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/event"
)

// recentSegments is how many requested segment URLs a Session remembers to tell a segment's
// "Opening '…' for reading" line from a playlist's (one per playlist of a multi-variant client).
const recentSegments = 16

// Session turns what one FFmpeg process prints (stderr lines and -progress blocks) into events
// for one client attempt. It is safe for concurrent use: stderr and the progress pipe are read
// by different goroutines.
type Session struct {
	client, attempt int
	start           time.Time
	stallAfter      time.Duration
	sink            event.Sink

	mu     sync.Mutex
	recent [recentSegments]string
	next   int
	// pending: an error (HTTP status, timeout, refused connection) was reported and the
	// "Failed to open segment"/"Failed to reload playlist" line it causes has not come yet.
	pending      bool
	gotFirst     bool
	lastProgress time.Time
	slowSince    time.Time
	stalled      bool
	bytes        int64
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

// LogLine handles one stderr line seen at now and returns how it was parsed.
func (s *Session) LogLine(line string, now time.Time) LogEntry {
	e := ParseLogLine(line)
	if e.Kind == LogOther {
		return e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch e.Kind {
	case LogSegmentRequest:
		s.recent[s.next%recentSegments] = e.URL
		s.next++
		s.pending = false
		s.emit(event.Event{Kind: event.SegmentRequest, Time: now, URL: e.URL})
	case LogOpen:
		for _, u := range s.recent {
			if u == e.URL {
				return e // the segment just requested, being opened
			}
		}
		s.pending = false
		s.emit(event.Event{Kind: event.PlaylistRequest, Time: now, URL: e.URL})
	case LogHTTPError:
		s.pending = true
		s.emit(event.Event{Kind: event.HTTPError, Time: now, Status: e.Status, Reason: e.Message})
	case LogTimeout:
		s.pending = true
		s.emit(event.Event{Kind: event.Timeout, Time: now, Reason: e.Message})
	case LogReconnect:
		s.emit(event.Event{Kind: event.Reconnect, Time: now, Reason: e.Message})
	case LogConnectFailed, LogTruncated:
		// A failure without an HTTP status: an error of unknown status (0).
		s.pending = true
		s.emit(event.Event{Kind: event.HTTPError, Time: now, Status: 0, Reason: e.Message})
	case LogSegmentFailed, LogPlaylistFailed:
		// The consequence of the error just reported, or a failure FFmpeg gave no cause for.
		if s.pending {
			s.pending = false
			return e
		}
		s.emit(event.Event{Kind: event.HTTPError, Time: now, Status: 0, Reason: e.Message})
	}
	return e
}

// Progress handles one -progress block seen at now.
func (s *Session) Progress(p Progress, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if !s.gotFirst && (p.Frame > 0 || (p.OutTimeKnown && p.OutTime > 0)) {
		s.gotFirst = true
		s.emit(event.Event{Kind: event.FirstSegment, Time: now, Elapsed: now.Sub(s.start)})
	}
	if p.TotalSize > s.bytes {
		s.bytes = p.TotalSize
	}
	s.emit(event.Event{Kind: event.Progress, Time: now, Bytes: s.bytes, Speed: p.Speed})
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

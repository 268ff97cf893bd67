package ffmpeg

import (
	"sync"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/event"
)

// Session follows what one FFmpeg process prints (stderr lines and -progress blocks) for one
// client attempt: whether media arrived and the playback speed. Requests, bytes, errors and
// stalls are not read from FFmpeg's output: the client's metering proxy (internal/swarm/meter)
// measures the requests and internal/swarm/qoe models playback from them. It is safe for
// concurrent use: stderr and the progress pipe are read by different goroutines.
type Session struct {
	client, attempt int
	sink            event.Sink

	mu       sync.Mutex
	gotFirst bool
}

// NewSession starts observing client's attempt.
func NewSession(client, attempt int, sink event.Sink) *Session {
	return &Session{client: client, attempt: attempt, sink: sink}
}

// LogLine parses one stderr line (for the warnings kept for the exit log).
func (s *Session) LogLine(line string, _ time.Time) LogEntry { return ParseLogLine(line) }

// Progress handles one -progress block seen at now.
func (s *Session) Progress(p Progress, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.gotFirst && (p.Frame > 0 || (p.OutTimeKnown && p.OutTime > 0)) {
		s.gotFirst = true
	}
	s.sink.Handle(event.Event{Kind: event.Progress, Client: s.client, Attempt: s.attempt, Time: now, Speed: p.Speed})
}

// GotFirstSegment reports whether media has arrived in this attempt.
func (s *Session) GotFirstSegment() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gotFirst
}

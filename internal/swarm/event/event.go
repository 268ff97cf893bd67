// Package event defines what a swarm client reports: the one-way stream from engines
// (FFmpeg processes, later a native Go client) to metrics and the end-of-run report.
package event

import "time"

// Kind says what happened to a client.
type Kind int

// The kinds of event an engine emits. Consumers ignore kinds they do not know.
const (
	// ClientStarted: a client process started (Attempt 0 is the first start, >0 a restart).
	ClientStarted Kind = iota + 1
	// ClientExited: a client process ended; Reason says why ("clean", "error", "signal", "killed", "stopped").
	ClientExited
	// ClientRestartScheduled: the supervisor will restart the client after Delay.
	ClientRestartScheduled
	// PlaylistRequest: the client requested a playlist (URL set).
	PlaylistRequest
	// SegmentRequest: the client requested a media segment (URL set).
	SegmentRequest
	// FirstSegment: the first segment of this client process arrived; Elapsed is time since start.
	FirstSegment
	// Progress: a -progress block; Bytes is the total so far for this process, Speed the playback speed.
	Progress
	// HTTPError: the client saw an HTTP error; Status is the code (0 if unknown).
	HTTPError
	// Timeout: a request timed out.
	Timeout
	// Reconnect: the client reconnected to the origin.
	Reconnect
	// StallStarted and StallEnded bracket a period with speed < 1 for longer than the stall threshold.
	StallStarted
	StallEnded
)

var kindNames = map[Kind]string{
	ClientStarted: "client_started", ClientExited: "client_exited", ClientRestartScheduled: "restart_scheduled",
	PlaylistRequest: "playlist_request", SegmentRequest: "segment_request", FirstSegment: "first_segment",
	Progress: "progress", HTTPError: "http_error", Timeout: "timeout", Reconnect: "reconnect",
	StallStarted: "stall_started", StallEnded: "stall_ended",
}

func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return "unknown"
}

// Event is one observation about one client.
type Event struct {
	Kind    Kind
	Client  int           // client index, 0-based
	Attempt int           // process attempt of this client, 0 = first start
	Time    time.Time     // when it was observed
	URL     string        // PlaylistRequest, SegmentRequest, HTTPError
	Status  int           // HTTPError: HTTP status code; ClientExited: exit code (-1 if killed by a signal)
	Reason  string        // ClientExited: clean|error|signal|killed|stopped; HTTPError: text
	Bytes   int64         // Progress: total bytes read by this process so far (0 if unknown)
	Speed   float64       // Progress: playback speed (1.0 = real time)
	Elapsed time.Duration // FirstSegment: since process start; ClientRestartScheduled: the delay
}

// Sink receives events. Implementations must be safe for concurrent use and must not block for long.
type Sink interface {
	Handle(Event)
}

// SinkFunc adapts a function to a Sink.
type SinkFunc func(Event)

// Handle calls f(e).
func (f SinkFunc) Handle(e Event) { f(e) }

// Fanout sends each event to every sink in order.
type Fanout []Sink

// Handle passes e to each sink.
func (f Fanout) Handle(e Event) {
	for _, s := range f {
		s.Handle(e)
	}
}

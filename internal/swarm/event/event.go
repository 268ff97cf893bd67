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
	// Request: one attempt measured by the meter (internal/swarm/meter): a request that got a
	// response, or a failed connection. URL, Object, Status, Bytes, TTFB, Elapsed, Reused,
	// Class and Media describe it.
	Request
	// Progress: a -progress block; Speed is the playback speed FFmpeg reports.
	Progress
)

// Objects a Request is for (Event.Object).
const (
	ObjectMaster  = "master"  // master (multivariant) playlist
	ObjectMedia   = "media"   // media playlist (also a playlist URL not parsed yet)
	ObjectSegment = "segment" // media segment
	ObjectInit    = "init"    // initialisation section (EXT-X-MAP)
	ObjectKey     = "key"     // decryption key (EXT-X-KEY)
	ObjectOther   = "other"   // anything else
)

// Objects lists every Object value.
var Objects = []string{ObjectMaster, ObjectMedia, ObjectSegment, ObjectInit, ObjectKey, ObjectOther}

// Error classes of a failed attempt (Event.Class); "" is a successful attempt.
const (
	ClassHTTP    = "http"    // the origin answered with a status ≥ 400
	ClassRefused = "refused" // connection refused
	ClassReset   = "reset"   // connection reset or closed before the response or body ended
	ClassTimeout = "timeout" // connect, request or body read timed out
	ClassDNS     = "dns"     // the host name did not resolve
	ClassTLS     = "tls"     // TLS handshake or certificate verification failed
	ClassOther   = "other"   // any other failure
)

// Classes lists every non-empty Class value.
var Classes = []string{ClassHTTP, ClassRefused, ClassReset, ClassTimeout, ClassDNS, ClassTLS, ClassOther}

var kindNames = map[Kind]string{
	ClientStarted: "client_started", ClientExited: "client_exited", ClientRestartScheduled: "restart_scheduled",
	Request: "request", Progress: "progress",
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
	URL     string        // Request: the absolute URL asked for
	Status  int           // Request: HTTP status (0 = no response); ClientExited: exit code (-1 if killed by a signal)
	Reason  string        // ClientExited: clean|error|signal|killed|stopped; Request: the error text of a failed attempt
	Speed   float64       // Progress: playback speed (1.0 = real time)
	Elapsed time.Duration // Request: request sent → last body byte; ClientRestartScheduled: the delay

	// Request only.
	Object string        // ObjectMaster … ObjectOther
	Class  string        // "" = success, else ClassHTTP … ClassOther
	Bytes  int64         // body bytes received from the origin
	TTFB   time.Duration // request sent → response header received (0 without a response)
	Reused bool          // sent on a connection that carried an earlier request
	Media  time.Duration // segment: its EXTINF duration from the client's media playlist (0 if unknown)
	Ended  bool          // media playlist: it has EXT-X-ENDLIST (VOD)
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

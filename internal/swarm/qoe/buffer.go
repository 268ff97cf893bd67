// Package qoe models what a viewer of each swarm client would see, from the requests the
// metering proxy measured: a virtual playback buffer per client, its stalls and rebuffering.
//
// The model is the simplest player that is still honest: playback starts when the first
// segment has been received whole (start-up = process start → that moment); every segment
// received whole adds its EXTINF duration to the buffer; the buffer drains in real time while
// playing; a stall starts the instant it runs empty and ends when the next segment arrives
// (playback resumes at once, with no rebuffering goal). A restarted client process is a new
// playback session. It does not look into the media: it trusts the playlist's durations, and it
// counts what FFmpeg received, which is what a player downloading the same way would have.
package qoe

import "time"

// Buffer is one client's virtual playback buffer. It is not safe for concurrent use. Times are
// passed in (no clock inside), so tests drive it with a fake clock.
type Buffer struct {
	active     bool
	started    time.Time // process start
	playing    bool      // the first segment arrived
	playFrom   time.Time // when the first segment arrived
	at         time.Time // the instant buffered refers to
	buffered   time.Duration
	stalled    bool
	stallStart time.Time

	// Totals over every session of this client.
	stalls     int
	rebuffer   time.Duration // closed stalls
	watched    time.Duration // closed sessions: first segment → end
	mediaBytes int64         // segment bytes with a known duration
	media      time.Duration // their duration
}

// Start begins a playback session at t (a client process started); an open session ends first.
func (b *Buffer) Start(t time.Time) {
	b.End(t)
	*b = Buffer{active: true, started: t, stalls: b.stalls, rebuffer: b.rebuffer, watched: b.watched,
		mediaBytes: b.mediaBytes, media: b.media}
}

// Segment records a segment of duration media and size bytes received whole at t. It returns
// the start-up time when this is the session's first segment.
func (b *Buffer) Segment(t time.Time, media time.Duration, bytes int64) (startup time.Duration, first bool) {
	if !b.active {
		return 0, false
	}
	if media > 0 {
		b.media += media
		b.mediaBytes += bytes
	}
	if !b.playing {
		b.playing, b.playFrom, b.at, b.buffered = true, t, t, media
		return t.Sub(b.started), true
	}
	b.advance(t)
	if b.stalled {
		b.stalled = false
		b.rebuffer += t.Sub(b.stallStart)
	}
	b.buffered += media
	return 0, false
}

// advance drains the buffer from b.at to t; an empty buffer starts a stall at that instant.
func (b *Buffer) advance(t time.Time) {
	if !b.playing || !t.After(b.at) {
		return
	}
	if !b.stalled {
		if left := t.Sub(b.at); b.buffered > left {
			b.buffered -= left
		} else {
			b.stalled, b.stallStart = true, b.at.Add(b.buffered)
			b.stalls++
			b.buffered = 0
		}
	}
	b.at = t
}

// End closes the session at t (the process ended, or the run did): an open stall counts up to t.
func (b *Buffer) End(t time.Time) {
	if !b.active {
		return
	}
	if b.playing {
		b.advance(t)
		if b.stalled {
			b.rebuffer += t.Sub(b.stallStart)
		}
		b.watched += t.Sub(b.playFrom)
	}
	*b = Buffer{stalls: b.stalls, rebuffer: b.rebuffer, watched: b.watched, mediaBytes: b.mediaBytes, media: b.media}
}

// Totals are a client's QoE figures at one instant.
type Totals struct {
	Stalls    int           // stalls started
	Rebuffer  time.Duration // time spent stalled
	Watched   time.Duration // time from each session's first segment to its end (or now)
	Stalled   bool          // in a stall now
	Buffered  time.Duration // media in the buffer now
	Media     time.Duration // duration of the segments received
	MediaBits float64       // bits of those segments
}

// Bitrate is the bitrate the client played, in bit/s (0 before any segment of known duration).
func (t Totals) Bitrate() float64 {
	if t.Media <= 0 {
		return 0
	}
	return t.MediaBits / t.Media.Seconds()
}

// Totals reports the figures as of t, draining the buffer up to t (an open stall counts up to t).
func (b *Buffer) Totals(t time.Time) Totals {
	b.advance(t)
	out := Totals{Stalls: b.stalls, Rebuffer: b.rebuffer, Watched: b.watched, Stalled: b.stalled,
		Buffered: b.buffered, Media: b.media, MediaBits: 8 * float64(b.mediaBytes)}
	if b.active && b.playing {
		if b.stalled {
			out.Rebuffer += t.Sub(b.stallStart)
		}
		out.Watched += t.Sub(b.playFrom)
	}
	return out
}

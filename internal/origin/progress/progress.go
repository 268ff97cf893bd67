// Package progress reads FFmpeg's -progress output (key=value blocks ending in
// progress=continue|end) and turns it into an encoding speed measured over a sliding window.
//
// FFmpeg's own speed= value is cumulative since start, so one slow minute hides behind an hour
// of good ones; the origin needs "is it keeping up now", hence Rate: Δmedia time / Δwall time
// over the last few seconds.
package progress

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Block is one -progress report.
type Block struct {
	Frame int64
	// OutTime is how much media has been encoded so far.
	OutTime time.Duration
	// Speed is FFmpeg's own cumulative speed (media time / wall time since start); 0 when N/A.
	Speed float64
	// End is true on the last block (progress=end).
	End bool
}

// Read parses blocks from r and calls fn for each until r ends.
func Read(r io.Reader, fn func(Block)) error {
	sc := bufio.NewScanner(r)
	var b Block
	for sc.Scan() {
		key, val, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		switch key {
		case "frame":
			b.Frame, _ = strconv.ParseInt(val, 10, 64)
		case "out_time_us", "out_time_ms": // both are microseconds (out_time_ms is misnamed)
			if us, err := strconv.ParseInt(val, 10, 64); err == nil {
				b.OutTime = time.Duration(us) * time.Microsecond
			}
		case "speed":
			b.Speed, _ = strconv.ParseFloat(strings.TrimSuffix(val, "x"), 64)
		case "progress":
			b.End = val == "end"
			fn(b)
			b = Block{}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read ffmpeg progress: %w", err)
	}
	return nil
}

// Rate measures encoding speed over a sliding window of wall time. Not safe for concurrent use.
type Rate struct {
	window  time.Duration
	samples []sample
}

type sample struct {
	at  time.Time
	out time.Duration
}

// NewRate returns a Rate over the given window (e.g. 10 s).
func NewRate(window time.Duration) *Rate { return &Rate{window: window} }

// Observe records that at wall time at, outTime of media had been encoded.
func (r *Rate) Observe(at time.Time, outTime time.Duration) {
	if n := len(r.samples); n > 0 && outTime < r.samples[n-1].out {
		r.samples = r.samples[:0] // FFmpeg restarted: its clock starts again
	}
	r.samples = append(r.samples, sample{at, outTime})
	// Keep one sample at or before the window start so the window is always fully covered.
	cut := 0
	for i := range r.samples {
		if at.Sub(r.samples[i].at) >= r.window {
			cut = i
		}
	}
	r.samples = r.samples[cut:]
}

// Speed returns media seconds per wall second over the window, and false until the samples
// span at least half the window.
func (r *Rate) Speed() (float64, bool) {
	if len(r.samples) < 2 {
		return 0, false
	}
	first, last := r.samples[0], r.samples[len(r.samples)-1]
	wall := last.at.Sub(first.at)
	if wall < r.window/2 || wall <= 0 {
		return 0, false
	}
	return float64(last.out-first.out) / float64(wall), true
}

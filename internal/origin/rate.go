package origin

import "time"

// Rate measures encoding speed over a sliding window of wall time: FFmpeg's own speed= is
// cumulative since start, so one slow minute hides behind an hour of good ones; /health needs
// "is it keeping up now", Δmedia time / Δwall time over the last few seconds. Not safe for
// concurrent use.
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

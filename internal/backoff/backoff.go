// Package backoff is the one restart policy of the project: how long a supervisor waits before it
// starts a crashed child again (swarm clients, and the test origin's FFmpeg and nginx).
//
// When a child exits, its supervisor waits before starting it again. The wait grows
// exponentially with each consecutive failure — Initial × Factor^(n−1), capped at Max — so a
// client pointed at a dead origin costs little, and it is jittered so that a swarm whose clients
// all failed together (the origin restarted) does not come back as one synchronised wave.
//
// The published tool used 250 ms × 1.7, capped at 5 s, ±20 % jitter, and reset after 30 s up
// or after any clean exit. Two things in that are wrong for a load tester:
//   - ±20 % jitter keeps the herd together: 500 clients that failed in the same second retry
//     within a 0.4 × delay window, every time. We use "equal jitter" instead (the delay is drawn
//     uniformly from [d/2, d]): half of the spread of AWS's "full jitter", without its near-zero
//     waits that turn into a retry storm on a dead origin.
//   - Resetting after a clean exit means an FFmpeg that exits 0 at once (a VOD playlist with
//     EXT-X-ENDLIST, an origin that answers an empty playlist) restarts at the base delay
//     forever. We reset only after a healthy attempt: media arrived and the process stayed up
//     for HealthyAfter (the test origin, which has no media to watch, counts uptime alone).
//
// Defaults: Initial 500 ms, Factor 2, Max 10 s (or the profile's reconnect delay max), so a dead
// origin sees each client about every 7.5 s on average once the cap is reached, and a client
// whose origin comes back is playing again within one capped delay.
package backoff

import (
	"math/rand/v2"
	"time"
)

// Backoff computes restart delays for one supervised child. It is not safe for concurrent use.
type Backoff struct {
	Initial time.Duration
	Factor  float64
	Max     time.Duration
	rng     *rand.Rand
	fails   int
}

// Default backoff parameters (see the file comment).
const (
	DefaultInitial      = 500 * time.Millisecond
	DefaultFactor       = 2.0
	DefaultMax          = 10 * time.Second
	DefaultHealthyAfter = 15 * time.Second
)

// New returns a backoff with the given cap (DefaultMax when max ≤ 0), jittered by rng.
func New(max time.Duration, rng *rand.Rand) *Backoff {
	if max <= 0 {
		max = DefaultMax
	}
	initial := min(DefaultInitial, max)
	return &Backoff{Initial: initial, Factor: DefaultFactor, Max: max, rng: rng}
}

// Next returns the delay before the next restart and counts one more failure.
func (b *Backoff) Next() time.Duration {
	d := float64(b.Initial)
	for i := 0; i < b.fails && d < float64(b.Max); i++ {
		d *= b.Factor
	}
	d = min(d, float64(b.Max))
	b.fails++
	half := d / 2
	return time.Duration(half + b.rng.Float64()*half)
}

// Reset forgets past failures (after a healthy attempt).
func (b *Backoff) Reset() { b.fails = 0 }

// Failures is the number of consecutive failures counted so far.
func (b *Backoff) Failures() int { return b.fails }

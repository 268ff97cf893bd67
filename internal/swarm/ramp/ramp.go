// Package ramp spreads client start times: Rate clients per second, each moved by up to
// ±Jitter so that starts do not land on the same tick; deterministic for a given random source.
package ramp

import (
	"math/rand/v2"
	"time"
)

// Schedule returns, for each of n clients in order, how long after the swarm starts it should
// start: client i at i/rate plus a uniform jitter in [−jitter, +jitter], never before 0. With
// rate ≤ 0 every client is due at once (still jittered).
func Schedule(n int, rate float64, jitter time.Duration, rng *rand.Rand) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		var at time.Duration
		if rate > 0 {
			at = time.Duration(float64(i) / rate * float64(time.Second))
		}
		if jitter > 0 {
			at += time.Duration((rng.Float64()*2 - 1) * float64(jitter))
		}
		out[i] = max(at, 0)
	}
	return out
}

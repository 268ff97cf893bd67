package backoff

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestBackoffGrowsWithinEqualJitterAndCaps(t *testing.T) {
	b := New(10*time.Second, rand.New(rand.NewPCG(1, 2)))
	// Un-jittered ceilings: 0.5, 1, 2, 4, 8, 10, 10 s.
	ceilings := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second,
		8 * time.Second, 10 * time.Second, 10 * time.Second}
	for i, ceil := range ceilings {
		d := b.Next()
		if d < ceil/2 || d > ceil {
			t.Errorf("failure %d: delay %s outside [%s, %s]", i+1, d, ceil/2, ceil)
		}
	}
	if b.Failures() != len(ceilings) {
		t.Errorf("Failures() = %d", b.Failures())
	}
	b.Reset()
	if d := b.Next(); d > 500*time.Millisecond {
		t.Errorf("after Reset: %s", d)
	}
}

func TestBackoffCapBelowInitial(t *testing.T) {
	b := New(200*time.Millisecond, rand.New(rand.NewPCG(3, 4)))
	for i := 0; i < 5; i++ {
		if d := b.Next(); d < 100*time.Millisecond || d > 200*time.Millisecond {
			t.Fatalf("delay %s outside [100ms, 200ms]", d)
		}
	}
}

func TestBackoffDeterministicAndSpread(t *testing.T) {
	a := New(0, rand.New(rand.NewPCG(9, 9)))
	b := New(0, rand.New(rand.NewPCG(9, 9)))
	for i := 0; i < 6; i++ {
		if x, y := a.Next(), b.Next(); x != y {
			t.Fatalf("same seed, different delays: %s vs %s", x, y)
		}
	}
	// 200 clients failing together: their first restarts spread over [250ms, 500ms], not a spike.
	var lo, hi int
	for i := 0; i < 200; i++ {
		d := New(0, rand.New(rand.NewPCG(uint64(i), 1))).Next()
		if d < 375*time.Millisecond {
			lo++
		} else {
			hi++
		}
	}
	if lo < 60 || hi < 60 {
		t.Errorf("restarts not spread over the jitter window: %d in the lower half, %d in the upper", lo, hi)
	}
}

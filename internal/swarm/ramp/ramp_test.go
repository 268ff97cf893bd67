package ramp

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestSchedule(t *testing.T) {
	tests := []struct {
		name   string
		n      int
		rate   float64
		jitter time.Duration
	}{
		{"5 per second, 100ms jitter", 50, 5, 100 * time.Millisecond},
		{"fractional rate", 10, 0.5, 0},
		{"burst", 100, 50, 10 * time.Millisecond},
		{"all at once", 20, 0, 0},
		{"jitter larger than the interval", 30, 20, 500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Schedule(tt.n, tt.rate, tt.jitter, rand.New(rand.NewPCG(42, 1)))
			if len(got) != tt.n {
				t.Fatalf("%d offsets, want %d", len(got), tt.n)
			}
			for i, at := range got {
				var nominal time.Duration
				if tt.rate > 0 {
					nominal = time.Duration(float64(i) / tt.rate * float64(time.Second))
				}
				if at < 0 || at < nominal-tt.jitter || at > nominal+tt.jitter {
					t.Errorf("client %d at %s, want %s ± %s and ≥ 0", i, at, nominal, tt.jitter)
				}
			}
			again := Schedule(tt.n, tt.rate, tt.jitter, rand.New(rand.NewPCG(42, 1)))
			if !slices.Equal(got, again) {
				t.Error("same seed gave a different schedule")
			}
		})
	}
}

func TestScheduleJitterIsUsed(t *testing.T) {
	a := Schedule(20, 5, 100*time.Millisecond, rand.New(rand.NewPCG(1, 1)))
	b := Schedule(20, 5, 100*time.Millisecond, rand.New(rand.NewPCG(2, 1)))
	if slices.Equal(a, b) {
		t.Fatal("different seeds gave the same jittered schedule")
	}
	var early, late int
	for i, at := range a {
		nominal := time.Duration(i) * 200 * time.Millisecond
		if at < nominal {
			early++
		} else if at > nominal {
			late++
		}
	}
	if early < 3 || late < 3 {
		t.Errorf("jitter one-sided: %d early, %d late", early, late)
	}
}

// TestScheduleRate checks the rate over a long ramp: the last of 1000 clients at 20/s starts
// at ~49.95 s.
func TestScheduleRate(t *testing.T) {
	got := Schedule(1000, 20, 50*time.Millisecond, rand.New(rand.NewPCG(7, 7)))
	last := got[len(got)-1]
	if last < 49900*time.Millisecond || last > 50000*time.Millisecond {
		t.Fatalf("last start at %s", last)
	}
}

func BenchmarkSchedule(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	for b.Loop() {
		Schedule(500, 50, 20*time.Millisecond, rng)
	}
}

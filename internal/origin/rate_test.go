package origin

import (
	"testing"
	"time"
)

func TestRate(t *testing.T) {
	t0 := time.Unix(1000, 0)
	type obs struct {
		wall, media time.Duration
	}
	tests := []struct {
		name  string
		obs   []obs
		want  float64
		known bool
	}{
		{"no samples", nil, 0, false},
		{"too short a span", []obs{{0, 0}, {time.Second, time.Second}}, 0, false},
		{"real time", []obs{{0, 0}, {5 * time.Second, 5 * time.Second}, {10 * time.Second, 10 * time.Second}}, 1, true},
		{"half speed", []obs{{0, 0}, {6 * time.Second, 3 * time.Second}}, 0.5, true},
		{"window slides past a stall", []obs{{0, 0}, {10 * time.Second, 2 * time.Second}, {20 * time.Second, 12 * time.Second}, {30 * time.Second, 22 * time.Second}}, 1, true},
		{"restart resets", []obs{{0, 0}, {10 * time.Second, 10 * time.Second}, {11 * time.Second, 0}, {12 * time.Second, time.Second}}, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewRate(10 * time.Second)
			for _, o := range tc.obs {
				r.Observe(t0.Add(o.wall), o.media)
			}
			got, known := r.Speed()
			if known != tc.known || (known && (got < tc.want-0.001 || got > tc.want+0.001)) {
				t.Fatalf("Speed() = %.3f, %v; want %.3f, %v", got, known, tc.want, tc.known)
			}
		})
	}
}

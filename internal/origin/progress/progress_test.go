package progress

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestReadCapturedFFmpeg51(t *testing.T) {
	f, err := os.Open("testdata/ffmpeg-5.1-progress.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var blocks []Block
	if err := Read(f, func(b Block) { blocks = append(blocks, b) }); err != nil {
		t.Fatal(err)
	}
	if len(blocks) != 5 {
		t.Fatalf("got %d blocks, want 5", len(blocks))
	}
	first, last := blocks[0], blocks[len(blocks)-1]
	if first.Frame != 1 || first.OutTime != 0 || first.Speed != 0 || first.End {
		t.Errorf("first block = %+v, want frame 1, no time, speed N/A", first)
	}
	if last.Frame != 45 || last.OutTime != 2866667*time.Microsecond || last.Speed != 0.949 || !last.End {
		t.Errorf("last block = %+v, want frame 45, 2.866667s, 0.949x, end", last)
	}
}

func TestReadIgnoresNoise(t *testing.T) {
	in := "garbage\nframe=x\nout_time_us=N/A\nspeed= 1.5x\nprogress=continue\n"
	var got []Block
	if err := Read(strings.NewReader(in), func(b Block) { got = append(got, b) }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Speed != 1.5 || got[0].Frame != 0 || got[0].OutTime != 0 {
		t.Fatalf("got %+v", got)
	}
}

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

package ffmpeg

import (
	"os"
	"strings"
	"testing"
	"time"
)

func readProgressFile(t *testing.T, path string) []Progress {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var blocks []Progress
	if err := ReadProgress(f, func(p Progress) { blocks = append(blocks, p) }); err != nil {
		t.Fatal(err)
	}
	return blocks
}

func TestReadProgress51(t *testing.T) {
	blocks := readProgressFile(t, "testdata/5.1/live.progress.txt")
	b, _ := os.ReadFile("testdata/5.1/live.progress.txt")
	if want := strings.Count(string(b), "progress="); len(blocks) != want {
		t.Fatalf("%d blocks, want %d", len(blocks), want)
	}
	first := blocks[0]
	if first.Frame != 1 || !first.OutTimeKnown || first.SpeedKnown || first.TotalSize != 0 {
		t.Errorf("first block %+v", first)
	}
	var prev Progress
	for i, p := range blocks[1:] {
		if !p.SpeedKnown || p.Speed <= 0 || p.TotalSize < prev.TotalSize || p.OutTime < prev.OutTime {
			t.Errorf("block %d not monotonic or without speed: %+v after %+v", i+1, p, prev)
		}
		prev = p
	}
	last := blocks[len(blocks)-1]
	if !last.End || last.TotalSize <= 0 || last.OutTime < 15*time.Second {
		t.Errorf("last block %+v", last)
	}
}

// TestReadProgress71 reads a real FFmpeg 7.1 capture (Debian trixie); the numbers are the file's
// first and last blocks, read with grep.
func TestReadProgress71(t *testing.T) {
	blocks := readProgressFile(t, "testdata/7.1/live.progress.txt")
	if len(blocks) != 35 {
		t.Fatalf("%d blocks, want 35", len(blocks))
	}
	if b := blocks[0]; b.Frame != 73 || b.TotalSize != 262144 || b.OutTime != 2941333*time.Microsecond || b.Speed != 5.69 || b.End {
		t.Errorf("first block %+v", b)
	}
	for i := 1; i < len(blocks); i++ {
		if p, prev := blocks[i], blocks[i-1]; !p.SpeedKnown || p.TotalSize < prev.TotalSize || p.OutTime < prev.OutTime {
			t.Errorf("block %d not monotonic or without speed: %+v after %+v", i, p, prev)
		}
	}
	if b := blocks[34]; !b.End || b.Frame != 498 || b.TotalSize != 2275364 || b.OutTime != 19941333*time.Microsecond || b.Speed != 1.08 {
		t.Errorf("last block %+v", b)
	}
}

// TestReadProgressEncoder51 reads what the origin's encoder (FFmpeg 5.1, HLS output) wrote to
// -progress: total_size is N/A there, and the first block has no speed yet.
func TestReadProgressEncoder51(t *testing.T) {
	blocks := readProgressFile(t, "testdata/5.1/encoder.progress.txt")
	if len(blocks) != 5 {
		t.Fatalf("%d blocks, want 5", len(blocks))
	}
	if b := blocks[0]; b.Frame != 1 || !b.OutTimeKnown || b.OutTime != 0 || b.SpeedKnown || b.TotalSize != -1 || b.End {
		t.Errorf("first block %+v, want frame 1 at 0 s, speed and size N/A", b)
	}
	if b := blocks[4]; b.Frame != 45 || b.OutTime != 2866667*time.Microsecond || b.Speed != 0.949 || b.TotalSize != -1 || !b.End {
		t.Errorf("last block %+v, want frame 45, 2.866667 s, 0.949x, end", b)
	}
}

func TestProgressDecoderLines(t *testing.T) {
	d := NewProgressDecoder()
	for _, l := range []string{"frame=3", "total_size=N/A", "out_time_us=-9223372036854775807", "speed=   3x", "garbage"} {
		if _, ok := d.Line(l); ok {
			t.Fatalf("%q ended a block", l)
		}
	}
	p, ok := d.Line("progress=continue")
	if !ok || p.Frame != 3 || p.TotalSize != -1 || p.OutTimeKnown || p.Speed != 3 || p.End {
		t.Fatalf("got %+v %v", p, ok)
	}
	p, ok = d.Line("progress=end")
	if !ok || !p.End || p.Frame != 0 || p.SpeedKnown {
		t.Fatalf("values leaked into the next block: %+v", p)
	}
}

// TestReadProgress90 reads a real FFmpeg 9.0 capture (Debian sid); numbers read with grep.
func TestReadProgress90(t *testing.T) {
	blocks := readProgressFile(t, "testdata/9.0/live.progress.txt")
	if len(blocks) != 31 {
		t.Fatalf("%d blocks, want 31", len(blocks))
	}
	if b := blocks[0]; b.Frame != 73 || b.TotalSize != 262144 || b.OutTime != 3010667*time.Microsecond || b.Speed != 5.68 || b.End {
		t.Errorf("first block %+v", b)
	}
	if b := blocks[30]; !b.End || b.Frame != 473 || b.TotalSize != 2165008 || b.OutTime != 19010667*time.Microsecond || b.Speed != 1.19 {
		t.Errorf("last block %+v", b)
	}
}

package ffmpeg

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/event"
)

// BenchmarkSessionLogLine feeds a captured 5.1 client log through a Session, line by line.
func BenchmarkSessionLogLine(b *testing.B) {
	data, err := os.ReadFile("testdata/5.1/segment-404.stderr.log")
	if err != nil {
		b.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	s := NewSession(0, 0, event.SinkFunc(func(event.Event) {}))
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range lines {
			s.LogLine(l, now)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(lines)), "ns/line")
}

// BenchmarkProgressDecoder decodes a captured -progress stream.
func BenchmarkProgressDecoder(b *testing.B) {
	data, err := os.ReadFile("testdata/5.1/live.progress.txt")
	if err != nil {
		b.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	b.ReportAllocs()
	for b.Loop() {
		d := NewProgressDecoder()
		for _, l := range lines {
			d.Line(l)
		}
	}
}

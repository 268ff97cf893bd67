package origintest

import (
	"strings"
	"testing"
)

// TestReadAccessLog: lines of the origin's log_format tallied for one user agent, its first
// preflights 200 answers to a playlist left out, other agents and other lines ignored.
func TestReadAccessLog(t *testing.T) {
	const log = `127.0.0.1 [07/Dec/2026:00:10:01 +0000] "GET /stream.m3u8 HTTP/1.1" 200 312 0.000 "ua-1"
127.0.0.1 [07/Dec/2026:00:10:01 +0000] "GET /stream.m3u8 HTTP/1.1" 200 312 0.000 "ua-1"
127.0.0.1 [07/Dec/2026:00:10:02 +0000] "GET /stream.m3u8 HTTP/1.1" 206 312 0.000 "ua-1"
127.0.0.1 [07/Dec/2026:00:10:02 +0000] "GET /stream12.ts HTTP/1.1" 206 18800 0.003 "ua-1"
127.0.0.1 [07/Dec/2026:00:10:03 +0000] "GET /stream13.ts HTTP/1.1" 404 153 0.000 "ua-1"
127.0.0.1 [07/Dec/2026:00:10:03 +0000] "GET /stream.m3u8 HTTP/1.1" 200 312 0.000 "ua-1"
127.0.0.1 [07/Dec/2026:00:10:03 +0000] "GET /stream14.ts HTTP/1.1" 206 9000 0.002 "Lavf/59.27.100"
127.0.0.1 [07/Dec/2026:00:10:04 +0000] "GET /health HTTP/1.1" 200 2 0.000 "go-ffmpeg-hls-swarm-healthcheck"
not a log line
`
	got, skipped, err := ReadAccessLog(strings.NewReader(log), "ua-1", 2)
	if err != nil {
		t.Fatal(err)
	}
	want := NewTally()
	want.Add("media", 206, 312)
	want.Add("segment", 206, 18800)
	want.Add("segment", 404, 153)
	want.Add("media", 200, 312) // a third 200: not a preflight of the 2 asked for
	if skipped != 2 || !got.Equal(want) {
		t.Errorf("ReadAccessLog = %s, %d skipped; want %s, 2", got, skipped, want)
	}
	sum := NewTally()
	sum.AddAll(got)
	sum.AddAll(got)
	if sum.Status["segment"]["206"] != 2 || sum.Bytes["segment"] != 2*(18800+153) || sum.Equal(got) {
		t.Errorf("AddAll twice = %s", sum)
	}
}

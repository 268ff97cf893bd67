package orchestrator_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/event"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/metrics"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/report"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/supervisor"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

// TestVODPlaysOnce: a VOD playlist (EXT-X-ENDLIST) is recognised; each client plays it to the
// end once and is not restarted, and the summary calls the stream VOD.
func TestVODPlaysOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("encodes a VOD stream and runs FFmpeg clients; skipped under -short")
	}
	const clients = 2
	ffmpeg := testenv.RequireBinary(t, "ffmpeg")
	dir := t.TempDir()
	enc := exec.Command(ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error",
		"-f", "lavfi", "-i", "testsrc2=size=320x180:rate=15", "-t", "6", "-c:v", "libx264", "-g", "30",
		"-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod",
		"-hls_segment_filename", filepath.Join(dir, "stream_%05d.ts"), filepath.Join(dir, "stream.m3u8"))
	if out, err := enc.CombinedOutput(); err != nil {
		t.Fatalf("encode the VOD stream: %v\n%s", err, out)
	}
	front := startFront(t, dir, nil)
	cfg, _ := swarmConfig(t, clients)
	cfg.URL, cfg.Duration = front.URL(), 60*time.Second
	col := metrics.New("test")
	rec := &recorder{}
	if err := runSwarmCtx(context.Background(), cfg, event.Fanout{rec, col}); err != nil {
		t.Fatal(err)
	}
	if n := rec.count(event.ClientRestartScheduled); n != 0 {
		t.Errorf("%d restarts of clients that played a VOD stream to its end", n)
	}
	for _, e := range rec.all(event.ClientExited, nil) {
		if e.Reason != supervisor.ReasonClean {
			t.Errorf("client %d exited %q, want clean (played to the end)", e.Client, e.Reason)
		}
	}
	segs := rec.perClientMatch(event.Request, okSegment)
	for i := 0; i < clients; i++ {
		if segs[i] < 3 {
			t.Errorf("client %d received %d segments of 3", i, segs[i])
		}
	}
	snap, err := col.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if sum := report.New(report.Run{}, snap, nil); sum.Playback.Stream != "vod" || sum.Restarts != 0 {
		t.Errorf("summary: stream %q, restarts %d; want vod, 0", sum.Playback.Stream, sum.Restarts)
	}
}

package orchestrator_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/event"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/orchestrator"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/preflight"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

// TestFilesPerClient counts the descriptors a running swarm holds in its own process, per
// client, against preflight.FilesPerClient (the figure the open-files preflight uses), which must
// exceed it by 10 %. The origin's
// file server runs in a child process so that its sockets do not count.
func TestFilesPerClient(t *testing.T) {
	const clients = 10
	s := startLiveStream(t, true)
	ffmpeg := testenv.ClientFFmpeg(t)
	openFiles := func() int {
		fds, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatal(err)
		}
		return len(fds)
	}
	before := openFiles()

	var mu sync.Mutex
	playing := map[int]bool{}
	sink := event.SinkFunc(func(e event.Event) {
		if e.Kind == event.Request && okSegment(e) {
			mu.Lock()
			playing[e.Client] = true
			mu.Unlock()
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	cfg := orchestrator.Config{URL: s.PlaylistURL, Clients: clients, RampRate: 0, FFmpegPath: ffmpeg, Reconnect: true, Seed: 1}
	go func() { done <- orchestrator.Run(ctx, cfg, sink) }()
	testenv.WaitFor(t, 90*time.Second, "every client receiving media", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(playing) == clients
	})
	// Sample for a few segment durations: connections come and go with playlist reloads.
	most := 0
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		most = max(most, openFiles())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	perClient := float64(most-before) / clients
	t.Logf("%d clients: %d descriptors before, at most %d while playing: %.1f per client (FilesPerClient = %d)",
		clients, before, most, perClient, preflight.FilesPerClient)
	if most <= before {
		t.Fatalf("no descriptors counted for %d running clients (%d before, %d during): the count is wrong", clients, before, most)
	}
	if perClient*1.1 > preflight.FilesPerClient {
		t.Errorf("a client costs the swarm %.1f descriptors, within 10 %% of preflight.FilesPerClient = %d or above: raise it (and say why)",
			perClient, preflight.FilesPerClient)
	}
}

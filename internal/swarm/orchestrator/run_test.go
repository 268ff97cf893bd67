package orchestrator_test

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/event"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/orchestrator"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/supervisor"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

func testLogger(t *testing.T) *slog.Logger {
	level := slog.LevelWarn
	if testing.Verbose() {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// liveConfig is a swarm against a real live origin (FFmpeg → HLS → net/http on 127.0.0.1).
func liveConfig(t *testing.T, clients int) (orchestrator.Config, string) {
	t.Helper()
	o := startOrigin(t)
	cfg, ua := swarmConfig(t, clients)
	cfg.URL = o.PlaylistURL
	return cfg, ua
}

// startOrigin starts a live stream with 1 s segments.
func startOrigin(t testing.TB) *liveStream {
	t.Helper()
	return startLiveStream(t, false)
}

// swarmConfig is a swarm of clients without a URL; its FFmpeg children carry the returned
// marker (their user agent) and must be gone when the test ends.
func swarmConfig(t *testing.T, clients int) (orchestrator.Config, string) {
	t.Helper()
	ffmpeg := testenv.ClientFFmpeg(t)
	ua := marker()
	t.Cleanup(func() {
		if left := procsWith(ua); len(left) > 0 {
			for _, pid := range left {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			t.Errorf("FFmpeg clients outlived the test: %v", left)
		}
	})
	return orchestrator.Config{
		Clients: clients, RampRate: 5, RampJitter: 50 * time.Millisecond,
		Variant: "all", FFmpegPath: ffmpeg, Timeout: 5 * time.Second, Reconnect: true,
		ReconnectDelayMax: 2 * time.Second, SegmentRetries: 2, UserAgent: ua,
		Logger: testLogger(t), Seed: 1,
	}, ua
}

// runSwarm runs the swarm to its Duration; runSwarmCtx until ctx ends.
func runSwarm(t *testing.T, cfg orchestrator.Config, sink event.Sink) error {
	return runSwarmCtx(context.Background(), cfg, sink)
}

func runSwarmCtx(ctx context.Context, cfg orchestrator.Config, sink event.Sink) error {
	return orchestrator.Run(ctx, cfg, sink)
}

func TestRunLiveStream(t *testing.T) {
	cfg, ua := liveConfig(t, 5)
	cfg.Duration = 15 * time.Second
	rec := &recorder{}
	if err := orchestrator.Run(context.Background(), cfg, rec); err != nil {
		t.Fatal(err)
	}
	if left := procsWith(ua); len(left) != 0 {
		t.Fatalf("ffmpeg processes left after Run returned: %v", left)
	}
	started := rec.perClient(event.ClientStarted)
	if len(started) != 5 {
		t.Fatalf("clients started: %v, want 5 clients", started)
	}
	segs := rec.perClientMatch(event.Request, isSegment)
	pls := rec.perClientMatch(event.Request, isPlaylist)
	played := rec.perClientMatch(event.Request, okSegment)
	for i := 0; i < 5; i++ {
		// The bound: duration / segment duration − 3 (1 s segments, 15 s run).
		if segs[i] < 12 {
			t.Errorf("client %d: %d segment requests, want ≥ 15/1 − 3 = 12", i, segs[i])
		}
		if pls[i] < 3 {
			t.Errorf("client %d: %d playlist requests, want ≥ 3", i, pls[i])
		}
		if played[i] < 1 {
			t.Errorf("client %d: no segment received whole", i)
		}
	}
	var maxBytes int64
	for _, e := range rec.all(event.Request, okSegment) {
		maxBytes = max(maxBytes, e.Bytes)
		if e.TTFB <= 0 || e.Elapsed < e.TTFB || e.Status/100 != 2 || e.Media != time.Second {
			t.Errorf("client %d: segment %s: status %d, ttfb %s, download %s, media %s", e.Client, e.URL, e.Status, e.TTFB, e.Elapsed, e.Media)
		}
	}
	if maxBytes <= 0 {
		t.Errorf("no segment carried bytes")
	}
	if f := rec.all(event.Request, failed); len(f) != 0 {
		t.Errorf("%d failed attempts on a healthy origin: %v", len(f), f)
	}
	exits := rec.all(event.ClientExited, nil)
	if len(exits) != 5 {
		t.Fatalf("%d ClientExited events, want 5: %v", len(exits), exits)
	}
	for _, e := range exits {
		// Stopped, and by FFmpeg itself after SIGTERM (an exit status), not by SIGKILL (-1).
		if e.Reason != supervisor.ReasonStopped || e.Status == -1 {
			t.Errorf("client %d exited %q (status %d), want stopped with an exit status", e.Client, e.Reason, e.Status)
		}
	}
	t.Logf("segments %v playlists %v bytes(max) %d", segs, pls, maxBytes)
}

func TestRunRestartsKilledClient(t *testing.T) {
	cfg, ua := liveConfig(t, 3)
	rec := &recorder{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- orchestrator.Run(ctx, cfg, rec) }()
	t.Cleanup(func() { cancel(); <-done })

	testenv.WaitFor(t, 60*time.Second, "3 clients to play", func() bool { return len(rec.perClientMatch(event.Request, okSegment)) == 3 })
	pids := procsWith(ua)
	if len(pids) != 3 {
		t.Fatalf("want 3 ffmpeg processes with %s, found %v", ua, pids)
	}
	if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 30*time.Second, "the killed client to be started again", func() bool {
		return len(rec.all(event.ClientStarted, func(e event.Event) bool { return e.Attempt == 1 })) == 1
	})
	killed := rec.all(event.ClientExited, func(e event.Event) bool { return e.Reason == supervisor.ReasonKilled })
	if len(killed) != 1 || killed[0].Status != -1 {
		t.Fatalf("ClientExited(killed): %v, want one with status -1", killed)
	}
	sched := rec.all(event.ClientRestartScheduled, nil)
	if len(sched) != 1 || sched[0].Client != killed[0].Client || sched[0].Elapsed <= 0 {
		t.Fatalf("ClientRestartScheduled: %v, want one for client %d with a delay", sched, killed[0].Client)
	}
	restarted := rec.all(event.ClientStarted, func(e event.Event) bool { return e.Attempt == 1 })[0]
	if restarted.Client != killed[0].Client {
		t.Fatalf("restarted client %d, killed client %d", restarted.Client, killed[0].Client)
	}
	if gap := restarted.Time.Sub(killed[0].Time); gap < sched[0].Elapsed {
		t.Errorf("restarted %s after the kill, before the scheduled delay %s", gap, sched[0].Elapsed)
	}
	testenv.WaitFor(t, 30*time.Second, "the restarted client to play", func() bool {
		return len(rec.all(event.Request, func(e event.Event) bool {
			return okSegment(e) && e.Client == restarted.Client && e.Time.After(restarted.Time)
		})) > 0
	})

	cancel()
	select {
	case err := <-done:
		done <- err
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("Run did not return within 5 s of cancel")
	}
	if left := procsWith(ua); len(left) != 0 {
		t.Fatalf("ffmpeg processes left after cancel: %v", left)
	}
}

// TestSwarmKilledChildrenDie re-runs this test binary as a swarm (TestHelperSwarm), SIGKILLs
// it, and checks that its FFmpeg children die with it (Pdeathsig from the spawning thread).
func TestSwarmKilledChildrenDie(t *testing.T) {
	cfg, ua := liveConfig(t, 3)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperSwarm$", "-test.v")
	cmd.Env = append(os.Environ(), "SWARM_HELPER_URL="+cfg.URL, "SWARM_HELPER_UA="+ua,
		"SWARM_HELPER_FFMPEG="+cfg.FFmpegPath, "SWARM_HELPER_CLIENTS="+strconv.Itoa(cfg.Clients))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(waited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-waited })

	testenv.WaitFor(t, 60*time.Second, "the helper swarm's 3 clients", func() bool { return len(procsWith(ua)) == 3 })
	// Let the clients run a moment so that the spawning thread is an old one.
	time.Sleep(2 * time.Second)
	if n := len(procsWith(ua)); n != 3 {
		t.Fatalf("%d clients running before the kill, want 3", n)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-waited
	testenv.WaitFor(t, 5*time.Second, "the dead swarm's FFmpeg children to die", func() bool { return len(procsWith(ua)) == 0 })
}

// TestHelperSwarm is the swarm process of TestSwarmKilledChildrenDie; it does nothing unless
// that test starts it.
func TestHelperSwarm(t *testing.T) {
	url := os.Getenv("SWARM_HELPER_URL")
	if url == "" {
		t.Skip("helper process for TestSwarmKilledChildrenDie")
	}
	n, _ := strconv.Atoi(os.Getenv("SWARM_HELPER_CLIENTS"))
	cfg := orchestrator.Config{URL: url, Clients: n, RampRate: 10, FFmpegPath: os.Getenv("SWARM_HELPER_FFMPEG"),
		Reconnect: true, UserAgent: os.Getenv("SWARM_HELPER_UA"), Logger: testLogger(t), Seed: 2}
	_ = orchestrator.Run(context.Background(), cfg, event.SinkFunc(func(event.Event) {}))
}

package main

import (
	"fmt"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/swarmtest"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

// BenchmarkSwarmLiveView measures what the live dashboard costs the swarm: the same 50 real
// FFmpeg clients of the real CLI in a real terminal (a tmux pane, which reads and draws all the
// output), once with --dashboard=false (the status line) and once with the dashboard, a record
// every second in both; the swarm process's CPU per client over a 30 s window after the ramp
// (/proc utime+stime), and the difference. Goal: within 1 percentage point of a core per client.
// Run: make bench-swarm (go test -run '^$' -bench 'BenchmarkSwarmLiveView$' -benchtime 1x ./cmd/go-ffmpeg-hls-swarm).
func BenchmarkSwarmLiveView(b *testing.B) {
	if testing.Short() {
		b.Skip("runs 50 FFmpeg clients twice for ~40 s each; skipped under -short")
	}
	testenv.RequireBinary(b, "tmux")
	bin := swarmBuildBinary(b)
	o := swarmtest.StartPrerecorded(b, "TestHelperPrerecorded", swarmtest.Default720p())
	const clients = 50
	for i := 0; i < b.N; i++ {
		off := liveViewCPU(b, bin, o.PlaylistURL, clients, false)
		on := liveViewCPU(b, bin, o.PlaylistURL, clients, true)
		b.ReportMetric(off, "off-%core/client")
		b.ReportMetric(on, "on-%core/client")
		b.ReportMetric(on-off, "diff-pp")
		b.Logf("swarm process CPU, %% of a core per client (%d clients, in a terminal): status line %.4f %%, dashboard %.4f %%, difference %+.4f pp (goal: within 1 pp)",
			clients, off, on, on-off)
	}
}

// liveViewCPU runs the swarm in a terminal and returns its own CPU in % of a core per client.
func liveViewCPU(b *testing.B, bin, playlist string, clients int, dashboard bool) float64 {
	const window = 30 * time.Second
	port := testenv.FreePort(b)
	s := &swarmProc{t: b, metrics: fmt.Sprintf("http://127.0.0.1:%d", port), done: make(chan struct{})}
	term := testenv.StartTerminal(b, 120, 40, append(swarmEnv(), "TERM=xterm-256color"), bin,
		"--metrics-addr", fmt.Sprintf("127.0.0.1:%d", port), "--clients", strconv.Itoa(clients), "--ramp-rate", "25",
		"--duration", "0", "--log-level", "warn", "--progress-interval", "1s", "--dashboard="+strconv.FormatBool(dashboard), playlist)
	pid := term.PID()
	s.waitMetric(2*time.Minute, fmt.Sprintf("%d active clients with segments", clients), func(m map[string]float64) bool {
		return m["hls_swarm_active_clients"] == float64(clients) && m["hls_swarm_time_to_first_segment_seconds_count"] >= float64(clients)
	})
	time.Sleep(3 * time.Second) // past start-up
	screen := term.Screen()
	before, err := measureSwarm(pid)
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	time.Sleep(window)
	after, err := measureSwarm(pid)
	if err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(t0).Seconds()
	if e := swarmSum(s.mustScrape(), "hls_swarm_errors_total"); e > 0 || after.children != clients {
		b.Fatalf("not a clean steady state: %.0f errors, %d of %d FFmpeg children running", e, after.children, clients)
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	term.Wait(60 * time.Second)
	if got := dashActive.MatchString(screen); got != dashboard {
		b.Fatalf("--dashboard=%v but the terminal shows a dashboard: %v\n%s", dashboard, got, screen)
	}
	return 100 * float64(after.selfNs-before.selfNs) / 1e9 / elapsed / float64(clients)
}

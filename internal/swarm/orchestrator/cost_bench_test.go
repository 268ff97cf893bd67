package orchestrator_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/event"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/orchestrator"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/swarmtest"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

// TestHelperPrerecorded is the server process of BenchmarkSwarmCostPerClient's stream; it does
// nothing unless started by swarmtest.StartPrerecorded.
func TestHelperPrerecorded(t *testing.T) { swarmtest.ServeIfHelper(t) }

// BenchmarkSwarmCostPerClient runs 50 clients against a live 2 Mb/s stream and compares, over a
// steady-state window after the ramp, what the swarm process itself costs (CPU, RSS) with
// what its FFmpeg children cost (CPU, PSS). The goal is orchestrator CPU ≤ 5 % of the clients'.
// It reports per-client numbers and the ratio; it asserts nothing about time.
func BenchmarkSwarmCostPerClient(b *testing.B) {
	if testing.Short() {
		b.Skip("runs 50 FFmpeg clients for ~30 s")
	}
	const clients = 50
	const window = 15 * time.Second
	// The default origin profile's shape (720p 30 fps, 2 Mb/s, 2 s segments), encoded before
	// the measurement and served as a live window by another process: neither the encoder nor
	// the origin runs on the machine's CPU budget of this process.
	o := swarmtest.StartPrerecorded(b, "TestHelperPrerecorded", swarmtest.Default720p())
	fmt.Fprintf(os.Stderr, "\nstream: %s; %.2f Mb/s measured on the encoded segments\n", o.Stream, o.BytesPerSecond*8/1e6)
	ffmpeg := testenv.RequireBinary(b, "ffmpeg")
	for b.Loop() {
		// What this test process spends without a swarm (the encoder's supervision runs in it).
		base0 := selfCPU()
		time.Sleep(5 * time.Second)
		baseline := (selfCPU() - base0) * time.Duration(window/(5*time.Second))
		ua := marker()
		cfg := orchestrator.Config{URL: o.PlaylistURL, Clients: clients, RampRate: 25, FFmpegPath: ffmpeg,
			Reconnect: true, UserAgent: ua, Seed: 3}
		var events atomic.Int64
		var mu sync.Mutex
		bytes := map[int]int64{} // body bytes received per client, as the meter measured them
		sink := event.SinkFunc(func(e event.Event) {
			events.Add(1)
			if e.Kind == event.Request {
				mu.Lock()
				bytes[e.Client] += e.Bytes
				mu.Unlock()
			}
		})
		sumBytes := func() (n int64) {
			mu.Lock()
			defer mu.Unlock()
			for _, b := range bytes {
				n += b
			}
			return n
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- orchestrator.Run(ctx, cfg, sink) }()
		testenv.WaitFor(b, 60*time.Second, "50 clients", func() bool { return len(procsWith(ua)) == clients })
		time.Sleep(5 * time.Second) // past start-up (process start costs ~0.06 CPU-s each)

		self0, kids0, bytes0 := selfCPU(), childrenCPU(ua), sumBytes()
		time.Sleep(window)
		self1, kids1, bytes1 := selfCPU(), childrenCPU(ua), sumBytes()
		rss, pss := selfRSS(), childrenPSS(ua)
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}

		self, kids := max(self1-self0-baseline, 0), kids1-kids0
		b.ReportMetric(float64(self.Microseconds())/1000/clients/window.Seconds(), "swarm-cpu-ms/s/client")
		b.ReportMetric(float64(kids.Microseconds())/1000/clients/window.Seconds(), "ffmpeg-cpu-ms/s/client")
		b.ReportMetric(100*float64(self)/float64(kids), "swarm/ffmpeg-cpu-%")
		b.ReportMetric(float64(rss)/clients/1024, "swarm-rss-KiB/client")
		b.ReportMetric(float64(pss)/clients/1024, "ffmpeg-pss-KiB/client")
		b.ReportMetric(100*float64(rss)/float64(pss), "swarm/ffmpeg-mem-%")
		b.ReportMetric(float64(events.Load())/clients, "events/client")
		b.ReportMetric(float64(bytes1-bytes0)*8/1e6/clients/window.Seconds(), "Mbit/s/client")
		fmt.Fprintf(os.Stderr, "\nbaseline (this process without clients) %s per %s, subtracted", baseline, window)
		fmt.Fprintf(os.Stderr, "\n%d clients, %s window: swarm CPU %s (%.3f%% of a core), FFmpeg CPU %s (%.3f%% of a core); ratio %.2f%%; swarm RSS %d KiB, FFmpeg PSS %d KiB total\n\n",
			clients, window, self, 100*self.Seconds()/window.Seconds(), kids, 100*kids.Seconds()/window.Seconds(),
			100*float64(self)/float64(kids), rss/1024, pss/1024)
	}
}

// selfCPU is this process's user+system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// childrenCPU sums utime+stime of the live processes whose command line contains ua.
func childrenCPU(ua string) time.Duration {
	var total time.Duration
	for _, pid := range procsWith(ua) {
		stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
		if err != nil {
			continue
		}
		// Fields after the ")" that closes comm: state is field 3, utime 14, stime 15.
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		total += time.Duration(ut+st) * time.Second / 100 // USER_HZ is 100 on Linux
	}
	return total
}

func selfRSS() int64 { return statusKB("/proc/self/status", "VmRSS:") * 1024 }

// childrenPSS sums the proportional set size of the processes whose command line contains ua.
func childrenPSS(ua string) int64 {
	var total int64
	for _, pid := range procsWith(ua) {
		total += statusKB(filepath.Join("/proc", strconv.Itoa(pid), "smaps_rollup"), "Pss:") * 1024
	}
	return total
}

func statusKB(file, key string) int64 {
	data, err := os.ReadFile(file)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/swarmtest"
)

// clockTicks is USER_HZ, the unit of utime/stime in /proc/PID/stat (100 on every Linux ABI Go supports).
const clockTicks = 100

// swarmUsage is CPU (ticks and ns) and memory (KiB) of the swarm process and of its FFmpeg children.
type swarmUsage struct {
	selfTicks, childTicks int64 // childTicks includes children already reaped (cutime+cstime)
	selfSys               int64 // the kernel's share of selfTicks (stime)
	selfNs, childNs       int64 // on-CPU time of the live threads (schedstat): exact where ticks are 10 ms
	selfRSS, selfPSS      int64
	childRSS, childPSS    int64
	children              int
}

func measureSwarm(pid int) (swarmUsage, error) {
	st, err := swarmReadStat(pid)
	if err != nil {
		return swarmUsage{}, err
	}
	u := swarmUsage{selfTicks: st.utime + st.stime, selfSys: st.stime, childTicks: st.cutime + st.cstime}
	u.selfRSS, u.selfPSS = rollup(pid)
	u.selfNs = runNs(pid)
	for _, c := range swarmChildren(pid) {
		u.childTicks += c.utime + c.stime
		u.childNs += runNs(c.pid)
		rss, pss := rollup(c.pid)
		u.childRSS += rss
		u.childPSS += pss
		u.children++
	}
	return u, nil
}

// runNs sums the time pid's threads have run (the first field of /proc/PID/task/TID/schedstat,
// in ns). Threads that ended are not in it: the benchmarks measure a steady state in which no
// client restarts (and the swarm's threads do not end).
func runNs(pid int) int64 {
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	var sum int64
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, t.Name()))
		if err != nil {
			continue
		}
		f := strings.Fields(string(b))
		if len(f) > 0 {
			v, _ := strconv.ParseInt(f[0], 10, 64)
			sum += v
		}
	}
	return sum
}

// rollup reads Rss and Pss (KiB) from /proc/PID/smaps_rollup.
func rollup(pid int) (rss, pss int64) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(fields[1], 10, 64)
		switch fields[0] {
		case "Rss:":
			rss = v
		case "Pss:":
			pss = v
		}
	}
	return rss, pss
}

// TestHelperPrerecorded is the server process of BenchmarkSwarm's stream; it does nothing
// unless started by swarmtest.StartPrerecorded.
func TestHelperPrerecorded(t *testing.T) { swarmtest.ServeIfHelper(t) }

// BenchmarkSwarm runs 50 and 200 real FFmpeg clients of the real CLI and compares what the
// swarm process itself costs — its metering proxy included, which carries every byte the
// clients receive — (CPU as its threads' run time from schedstat, in ns; memory as PSS) with
// what its FFmpeg children cost, per client, over a 40 s window after the ramp. It also prints
// the kernel's share of the swarm's CPU (stime over utime+stime, in 10 ms ticks). Goal: ratio
// ≤ 10 %.
//
// The stream is the default origin profile's shape (720p, 2 Mb/s, 2 s segments), encoded before
// the measurement and served as a live sliding window by a separate process, so neither an
// encoder nor the origin runs in the measured processes (FFmpeg's cost follows the bytes it
// reads; the swarm's follows the lines and progress blocks FFmpeg writes).
// Run: make bench-swarm (go test -run '^$' -bench 'BenchmarkSwarm$' -benchtime 1x ./cmd/go-ffmpeg-hls-swarm).
func BenchmarkSwarm(b *testing.B) {
	if testing.Short() {
		b.Skip("runs 50 and 200 FFmpeg clients for ~60 s each; skipped under -short")
	}
	bin := swarmBuildBinary(b)
	o := swarmtest.StartPrerecorded(b, "TestHelperPrerecorded", swarmtest.Default720p())
	b.Logf("stream: %s; %.2f Mb/s measured on the encoded segments", o.Stream, o.BytesPerSecond*8/1e6)
	for _, clients := range []int{50, 200} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			// Each run plays its own live window of the stream (all of them outlast one).
			var swarm float64
			b.Run("swarm", func(b *testing.B) { swarm = benchSwarm(b, bin, o.FreshURL(fmt.Sprint("swarm", clients)), clients) })
			b.Run("haproxy", func(b *testing.B) {
				peer := benchPeer(b, o.FreshURL(fmt.Sprint("haproxy", clients)), clients)
				// Logged here: a parent benchmark's log is printed only under -v.
				if swarm > 0 && peer > 0 {
					b.Logf("%d clients: the swarm costs %.1f%% of its clients' CPU, HAProxy relaying the same clients %.1f%%: %.2fx the peer",
						clients, 100*swarm, 100*peer, swarm/peer)
				}
			})
		})
	}
}

// benchSwarm returns the CPU ratio (swarm over its FFmpeg clients) of its last run.
func benchSwarm(b *testing.B, bin, playlist string, clients int) (ratio float64) {
	const window = 40 * time.Second
	n := float64(clients)
	for i := 0; i < b.N; i++ {
		s := startSwarm(b, bin, "--clients", strconv.Itoa(clients), "--ramp-rate", "25", "--duration", "0", "--log-level", "warn", playlist)
		s.waitMetric(time.Duration(90+clients/5)*time.Second, fmt.Sprintf("%d active clients with segments", clients), func(m map[string]float64) bool {
			return m["hls_swarm_active_clients"] == n && m["hls_swarm_time_to_first_segment_seconds_count"] >= n
		})
		time.Sleep(3 * time.Second) // past start-up (process start costs more than steady state)
		pid := s.cmd.Process.Pid
		m0 := s.mustScrape()
		before, err := measureSwarm(pid)
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		time.Sleep(window) // the measurement window
		after, err := measureSwarm(pid)
		if err != nil {
			b.Fatal(err)
		}
		elapsed := time.Since(t0).Seconds()
		m := s.mustScrape()
		if e := swarmSum(m, "hls_swarm_errors_total"); e > 0 || after.children != clients {
			b.Fatalf("not a clean steady state: %.0f HTTP errors, %d of %d FFmpeg children running", e, after.children, clients)
		}
		mbps := (swarmSum(m, "hls_swarm_received_bytes_total") - swarmSum(m0, "hls_swarm_received_bytes_total")) * 8 / 1e6 / n / elapsed
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		s.wait(30 * time.Second)

		cores := func(ns int64) float64 { return float64(ns) / 1e9 / elapsed }
		selfCPU := cores(after.selfNs - before.selfNs)
		childCPU := cores(after.childNs - before.childNs)
		perClient := func(v float64) float64 { return v / n }
		cpuRatio, memRatio := 0.0, 0.0
		if childCPU > 0 {
			cpuRatio = selfCPU / childCPU
		}
		if after.childPSS > 0 {
			memRatio = float64(after.selfPSS) / float64(after.childPSS)
		}
		b.ReportMetric(100*perClient(selfCPU), "swarm-%core/client")
		b.ReportMetric(100*perClient(childCPU), "ffmpeg-%core/client")
		b.ReportMetric(100*cpuRatio, "cpu-ratio-%")
		b.ReportMetric(float64(after.selfPSS)/n, "swarm-PSS-KiB/client")
		b.ReportMetric(float64(after.childPSS)/n, "ffmpeg-PSS-KiB/client")
		b.ReportMetric(100*memRatio, "mem-ratio-%")
		b.ReportMetric(mbps, "Mbit/s/client")
		b.Logf("%d clients (%d FFmpeg children running), %.1f s window, %.0f segments so far, %.2f Mbit/s per client received in the window",
			clients, after.children, elapsed, m[`hls_swarm_attempts_total{object="segment"}`], mbps)
		b.Logf("%-22s %14s %14s %8s", "", "swarm process", "FFmpeg clients", "ratio")
		b.Logf("%-22s %13.3f%% %13.3f%% %7.2f%%", "CPU, % of a core/client", 100*perClient(selfCPU), 100*perClient(childCPU), 100*cpuRatio)
		if t := after.selfTicks - before.selfTicks; t > 0 {
			b.Logf("%-22s %13.0f%%", "swarm CPU in the kernel", 100*float64(after.selfSys-before.selfSys)/float64(t))
		}
		b.Logf("%-22s %14.0f %14.0f %7.2f%%", "PSS KiB/client", float64(after.selfPSS)/n, float64(after.childPSS)/n, 100*memRatio)
		b.Logf("%-22s %14.0f %14.0f", "RSS KiB (total)", float64(after.selfRSS), float64(after.childRSS))
		b.Logf("goal: ratio <= 10%% (cpu %.2f%%, memory %.2f%%)", 100*cpuRatio, 100*memRatio)
		ratio = cpuRatio
	}
	return ratio
}

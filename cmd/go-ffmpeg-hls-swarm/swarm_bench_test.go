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

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/origin/origintest"
)

// clockTicks is USER_HZ, the unit of utime/stime in /proc/PID/stat (100 on every Linux ABI Go supports).
const clockTicks = 100

// swarmUsage is CPU (ticks) and memory (KiB) of the swarm process and of its FFmpeg children.
type swarmUsage struct {
	selfTicks, childTicks int64 // childTicks includes children already reaped (cutime+cstime)
	selfRSS, selfPSS      int64
	childRSS, childPSS    int64
	children              int
}

func measureSwarm(pid int) (swarmUsage, error) {
	st, err := swarmReadStat(pid)
	if err != nil {
		return swarmUsage{}, err
	}
	u := swarmUsage{selfTicks: st.utime + st.stime, childTicks: st.cutime + st.cstime}
	u.selfRSS, u.selfPSS = rollup(pid)
	for _, c := range swarmChildren(pid) {
		u.childTicks += c.utime + c.stime
		rss, pss := rollup(c.pid)
		u.childRSS += rss
		u.childPSS += pss
		u.children++
	}
	return u, nil
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

// BenchmarkSwarm50 runs 50 real FFmpeg clients against a real origin and compares what the
// swarm process itself costs (CPU from /proc utime+stime, memory as PSS) with what its FFmpeg
// children cost, per client, over a 20 s window after the ramp. Goal: ratio ≤ 5 %.
// Run: make bench-swarm (go test -run '^$' -bench Swarm50 -benchtime 1x ./cmd/go-ffmpeg-hls-swarm).
func BenchmarkSwarm50(b *testing.B) {
	if testing.Short() {
		b.Skip("runs 50 FFmpeg clients for ~30 s; skipped under -short")
	}
	const clients, window = 50, 20 * time.Second
	bin := swarmBuildBinary(b)
	o := origintest.Start(b, "default", origintest.Small())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s := startSwarm(b, bin, "--clients", strconv.Itoa(clients), "--ramp-rate", "25", "--duration", "0", "--log-level", "warn", o.PlaylistURL)
		s.waitMetric(90*time.Second, "50 active clients with segments", func(m map[string]float64) bool {
			return m["hls_swarm_active_clients"] == clients && m["hls_swarm_time_to_first_segment_seconds_count"] >= clients
		})
		pid := s.cmd.Process.Pid
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
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		s.wait(30 * time.Second)

		cores := func(ticks int64) float64 { return float64(ticks) / clockTicks / elapsed }
		selfCPU := cores(after.selfTicks - before.selfTicks)
		childCPU := cores(after.childTicks - before.childTicks)
		perClient := func(v float64) float64 { return v / clients }
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
		b.ReportMetric(float64(after.selfPSS)/clients, "swarm-PSS-KiB/client")
		b.ReportMetric(float64(after.childPSS)/clients, "ffmpeg-PSS-KiB/client")
		b.ReportMetric(100*memRatio, "mem-ratio-%")
		b.Logf("%d clients (%d FFmpeg children running), %.1f s window, %.0f segments so far", clients, after.children, elapsed, m["hls_swarm_segment_requests_total"])
		b.Logf("%-22s %14s %14s %8s", "", "swarm process", "FFmpeg clients", "ratio")
		b.Logf("%-22s %13.3f%% %13.3f%% %7.2f%%", "CPU, % of a core/client", 100*perClient(selfCPU), 100*perClient(childCPU), 100*cpuRatio)
		b.Logf("%-22s %14.0f %14.0f %7.2f%%", "PSS KiB/client", float64(after.selfPSS)/clients, float64(after.childPSS)/clients, 100*memRatio)
		b.Logf("%-22s %14.0f %14.0f", "RSS KiB (total)", float64(after.selfRSS), float64(after.childRSS))
		b.Logf("goal: ratio <= 5%% (cpu %.2f%%, memory %.2f%%)", 100*cpuRatio, 100*memRatio)
	}
}

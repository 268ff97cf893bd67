package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/swarmtest"
)

// capacityStep is the outcome of one swarm size.
type capacityStep struct {
	clients  int
	ok       bool
	why      string        // the first failure, or "held"
	held     time.Duration // time held at full size before the verdict
	load     [2]float64    // 1-minute load average at the start and the end of the step
	stalls   float64
	slow     float64 // progress reports at speed ≤ capacitySlowSpeed during the hold
	reports  float64 // progress reports during the hold
	mbps     float64 // Mbit/s received per client during the hold
	swarmCPU float64 // % of a core per client, the swarm process (its metering proxy included)
	ffCPU    float64 // % of a core per client, its FFmpeg clients
}

// capacitySlowSpeed is the playback speed at or below which a progress report counts as a
// client not keeping up: the playback-speed histogram's bucket at real time. FFmpeg's speed on
// a live stream is its media time over its run time; it starts a few segments behind the live
// edge, so a client that keeps up reports a little more than 1 (1.05–1.5 in the first minutes,
// still above 1.01 after 6 minutes). "Speed ≥ 1" is checked as "no report ≤ 1", a little
// stricter. The speed is an average since the client started, so a client whose start-up took
// longer than the media it fetched at once (3 segments, 6 s) reports < 1 for minutes even when
// it keeps up afterwards: at the edge of the machine's capacity, where the ramp itself slows the
// starts, this criterion fails first, and the size found is a lower bound.
const capacitySlowSpeed = "1"

// BenchmarkCapacity searches for the largest number of clients of the 720p 2 Mb/s stream this
// machine holds with every client keeping up: for each size, the real CLI runs that many FFmpeg
// clients (ramp 10/s) against a prerecorded live stream served by a separate process on
// loopback, and the size holds if, for CAPACITY_HOLD (default 5m) after every client has its
// first segment, no client stalls (virtual playback buffer), none restarts, no request fails,
// all keep running, and no progress report is at speed ≤ 1. A step fails as soon as one of
// these happens. The search doubles from CAPACITY_START (default 250) up to CAPACITY_MAX
// (default 1000, the goal), then bisects between the largest size held and the smallest
// failed until they are within 12.5 %, at most CAPACITY_STEPS (default 7) sizes. It stops
// early if memory would run short. Each step prints one line, with the machine's load average
// (the result depends on everything else the machine runs).
// Run: make bench-capacity.
func BenchmarkCapacity(b *testing.B) {
	if testing.Short() {
		b.Skip("runs hundreds of FFmpeg clients for minutes; skipped under -short")
	}
	hold := capacityEnvDuration(b, "CAPACITY_HOLD", 5*time.Minute)
	start := capacityEnvInt(b, "CAPACITY_START", 250)
	maxClients := capacityEnvInt(b, "CAPACITY_MAX", 1000)
	maxSteps := capacityEnvInt(b, "CAPACITY_STEPS", 7)
	const rampRate = 10
	bin := swarmBuildBinary(b)
	stream := swarmtest.Default720p()
	// Long enough for the slowest ramp and the hold; each step gets a fresh live window.
	stream.Length = hold + time.Duration(maxClients/rampRate)*time.Second + 3*time.Minute
	o := swarmtest.StartPrerecorded(b, "TestHelperPrerecorded", stream)
	say := func(format string, args ...any) { // now, not when the benchmark ends
		fmt.Printf("capacity: "+format+"\n", args...)
	}
	say("stream: %s; %.2f Mb/s; hold %s; ramp %d clients/s; %d CPUs", o.Stream, o.BytesPerSecond*8/1e6, hold, rampRate, runtime.NumCPU())
	say("%7s  %-6s %8s %11s %7s %11s %9s %9s %9s  %s", "clients", "result", "held", "load start→end", "stalls", "slow/reports", "Mbit/s/cl", "swarm%/cl", "ffmpeg%/cl", "why")

	var steps []capacityStep
	best, worst := 0, 0 // largest size held, smallest failed (0: none yet)
	for b.Loop() {
		n := start
		for len(steps) < maxSteps {
			if need := uint64(n)*16<<20 + 1<<30; capacityMemAvailable() < need {
				say("stop: %d clients need about %d MiB free (16 MiB each + 1 GiB; an FFmpeg client has a PSS of 13 MiB), %d MiB available", n, need>>20, capacityMemAvailable()>>20)
				break
			}
			st := capacityRun(b, bin, o.FreshURL(fmt.Sprintf("step%d-%d", len(steps), n)), n, rampRate, hold)
			steps = append(steps, st)
			res := "held"
			if !st.ok {
				res = "FAILED"
			}
			say("%7d  %-6s %8s %5.1f→%-5.1f %7.0f %5.0f/%-6.0f %9.2f %9.4f %9.4f  %s", st.clients, res, st.held.Round(time.Second),
				st.load[0], st.load[1], st.stalls, st.slow, st.reports, st.mbps, st.swarmCPU, st.ffCPU, st.why)
			if st.ok {
				best = max(best, n)
			} else if worst == 0 || n < worst {
				worst = n
			}
			next := capacityNext(best, worst, maxClients)
			if next == 0 {
				break
			}
			n = next
			time.Sleep(10 * time.Second) // let the last step's processes go
		}
	}
	b.ReportMetric(float64(best), "clients-held")
	switch {
	case best >= maxClients:
		say("largest size held: %d clients for %s (the goal, %d, is met; larger sizes not tried)", best, hold, maxClients)
	case worst > 0:
		say("largest size held: %d clients for %s; %d failed", best, hold, worst)
	default:
		say("largest size held: %d clients for %s (search stopped early)", best, hold)
	}
}

// capacityNext is the next size to try: doubling while everything held (up to maxClients),
// then halfway between the largest held and the smallest failed, rounded to 25; 0 when done.
func capacityNext(best, worst, maxClients int) int {
	if worst == 0 {
		if best >= maxClients {
			return 0
		}
		return min(2*best, maxClients)
	}
	if best == 0 {
		if worst <= 25 {
			return 0
		}
		return max(25, worst/2/25*25)
	}
	if worst-best <= max(25, best/8) {
		return 0
	}
	mid := (best + worst) / 2 / 25 * 25
	if mid <= best || mid >= worst {
		return 0
	}
	return mid
}

// capacityRun runs clients FFmpeg clients until every one has its first segment, then holds
// for hold or until the first sign that a client is not keeping up.
func capacityRun(b *testing.B, bin, url string, clients, rampRate int, hold time.Duration) (st capacityStep) {
	st = capacityStep{clients: clients, load: [2]float64{capacityLoad(), 0}}
	defer func() { st.load[1] = capacityLoad() }()
	s := startSwarm(b, bin, "--clients", strconv.Itoa(clients), "--ramp-rate", strconv.Itoa(rampRate), "--duration", "0", "--log-level", "warn", url)
	defer func() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		s.wait(2 * time.Minute)
	}()
	n := float64(clients)
	rampLimit := time.Duration(clients/rampRate)*time.Second + 2*time.Minute
	deadline := time.Now().Add(rampLimit)
	for {
		m, _, err := s.scrape()
		if err == nil && m["hls_swarm_active_clients"] == n && m["hls_swarm_time_to_first_segment_seconds_count"] >= n {
			break
		}
		if s.exited() {
			st.why = fmt.Sprintf("the swarm exited (code %d) during the ramp", s.code)
			return st
		}
		if time.Now().After(deadline) {
			st.why = fmt.Sprintf("not every client had its first segment %s after the start", rampLimit)
			return st
		}
		time.Sleep(2 * time.Second)
	}
	pid := s.cmd.Process.Pid
	m0, body0, err := s.scrape()
	if err != nil {
		st.why = "scrape: " + err.Error()
		return st
	}
	u0, _ := measureSwarm(pid)
	t0 := time.Now()
	st.ok, st.why = true, "held"
	for st.held < hold {
		time.Sleep(max(0, min(5*time.Second, hold-time.Since(t0))))
		m, body, err := s.scrape()
		if err != nil {
			st.ok, st.why = false, "scrape: "+err.Error()
			break
		}
		st.held = time.Since(t0)
		d := func(name string) float64 { return swarmSum(m, name) - swarmSum(m0, name) }
		st.stalls = d("hls_swarm_stalls_total")
		st.reports = m["hls_swarm_playback_speed_count"] - m0["hls_swarm_playback_speed_count"]
		st.slow = capacityBucket(body, capacitySlowSpeed) - capacityBucket(body0, capacitySlowSpeed)
		st.mbps = d("hls_swarm_received_bytes_total") * 8 / 1e6 / n / st.held.Seconds()
		if u, err := measureSwarm(pid); err == nil {
			cores := func(ticks int64) float64 { return 100 * float64(ticks) / clockTicks / st.held.Seconds() / n }
			st.swarmCPU, st.ffCPU = cores(u.selfTicks-u0.selfTicks), cores(u.childTicks-u0.childTicks)
		}
		var fail []string
		if st.stalls > 0 {
			fail = append(fail, fmt.Sprintf("%.0f stalls", st.stalls))
		}
		if st.slow > 0 {
			fail = append(fail, fmt.Sprintf("%.0f progress reports at speed ≤ %s", st.slow, capacitySlowSpeed))
		}
		if r := d("hls_swarm_client_restarts_total"); r > 0 {
			fail = append(fail, fmt.Sprintf("%.0f restarts", r))
		}
		if e := d("hls_swarm_errors_total"); e > 0 {
			fail = append(fail, fmt.Sprintf("%.0f failed requests", e))
		}
		if a := m["hls_swarm_active_clients"]; a < n {
			fail = append(fail, fmt.Sprintf("%.0f of %d clients running", a, clients))
		}
		if len(fail) > 0 {
			st.ok, st.why = false, strings.Join(fail, ", ")+fmt.Sprintf(" after %s", st.held.Round(time.Second))
			break
		}
	}
	return st
}

// capacityBucket reads the cumulative count of the playback-speed bucket le from a scrape.
func capacityBucket(body, le string) float64 {
	prefix := `hls_swarm_playback_speed_bucket{le="` + le + `"} `
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, prefix) {
			v, _ := strconv.ParseFloat(strings.Fields(strings.TrimPrefix(l, prefix))[0], 64)
			return v
		}
	}
	return 0
}

func capacityLoad() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	v, _ := strconv.ParseFloat(strings.Fields(string(b))[0], 64)
	return v
}

func capacityMemAvailable() uint64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "MemAvailable:" {
			v, _ := strconv.ParseUint(f[1], 10, 64)
			return v << 10
		}
	}
	return 0
}

func capacityEnvInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

func capacityEnvDuration(b *testing.B, name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		b.Fatalf("%s=%q: want a positive duration", name, v)
	}
	return d
}

func TestCapacityNext(t *testing.T) {
	tests := []struct{ best, worst, max, want int }{
		{250, 0, 1000, 500},   // all held: double
		{500, 0, 1000, 1000},  // capped at the goal
		{1000, 0, 1000, 0},    // the goal held: done
		{0, 250, 1000, 125},   // the first size failed: halve
		{0, 25, 1000, 0},      // nothing holds
		{250, 500, 1000, 375}, // bisect
		{375, 500, 1000, 425}, // bisect, rounded to 25
		{450, 500, 1000, 0},   // within 12.5 %: done
	}
	for _, tt := range tests {
		if got := capacityNext(tt.best, tt.worst, tt.max); got != tt.want {
			t.Errorf("capacityNext(%d, %d, %d) = %d, want %d", tt.best, tt.worst, tt.max, got, tt.want)
		}
	}
}

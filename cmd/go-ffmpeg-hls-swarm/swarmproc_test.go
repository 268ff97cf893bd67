package main

// Helpers for the integration tests: build the real binary, run it as a child process, scrape
// its /metrics over HTTP, and read /proc for its FFmpeg children.

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

// swarmBuildBinary compiles this command into a temporary directory.
func swarmBuildBinary(t testing.TB) string {
	t.Helper()
	testenv.RequireBinary(t, "ffmpeg")
	bin := filepath.Join(t.TempDir(), "go-ffmpeg-hls-swarm")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// swarmProc is a running go-ffmpeg-hls-swarm.
type swarmProc struct {
	t       testing.TB
	cmd     *exec.Cmd
	stdout  testenv.Buffer
	stderr  testenv.Buffer
	metrics string // http://127.0.0.1:PORT
	done    chan struct{}
	code    int
}

// startSwarm runs bin with args plus a metrics address on a free loopback port.
func startSwarm(t testing.TB, bin string, args ...string) *swarmProc {
	t.Helper()
	port := testenv.FreePort(t)
	s := &swarmProc{t: t, metrics: fmt.Sprintf("http://127.0.0.1:%d", port), done: make(chan struct{})}
	s.cmd = exec.Command(bin, append([]string{"--metrics-addr", fmt.Sprintf("127.0.0.1:%d", port), "--log-format", "json"}, args...)...)
	s.cmd.Stdout, s.cmd.Stderr = &s.stdout, &s.stderr
	s.cmd.Env = swarmEnv()
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start swarm: %v", err)
	}
	go func() {
		_ = s.cmd.Wait()
		s.code = s.cmd.ProcessState.ExitCode()
		close(s.done)
	}()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			_ = s.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-s.done:
			case <-time.After(10 * time.Second):
				_ = s.cmd.Process.Kill()
				<-s.done
			}
		}
		if t.Failed() {
			t.Logf("swarm stdout:\n%s", s.stdout.String())
			t.Logf("swarm stderr (tail):\n%s", swarmTail(s.stderr.String(), 40))
		}
	})
	return s
}

// swarmEnv drops the variables the swarm reads, so the test machine's environment cannot leak in.
func swarmEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "SWARM_"), name == "CLIENTS", name == "DURATION", name == "RAMP_RATE",
			name == "METRICS_PORT", name == "LOG_LEVEL", name == "STREAM_URL", name == "JOB_COMPLETION_INDEX", name == "SHARD_COUNT":
			continue
		}
		env = append(env, kv)
	}
	if ff := os.Getenv(testenv.ClientFFmpegEnv); ff != "" {
		env = append(env, "SWARM_FFMPEG="+ff) // the clients' FFmpeg; a --ffmpeg flag still wins
	}
	return env
}

func swarmTail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// wait returns the exit code, failing the test if the process runs past timeout.
func (s *swarmProc) wait(timeout time.Duration) int {
	s.t.Helper()
	select {
	case <-s.done:
		return s.code
	case <-time.After(timeout):
		s.t.Fatalf("swarm still running after %s", timeout)
		return -1
	}
}

func (s *swarmProc) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// scrape GETs /metrics and flattens it to "name" or `name{label="v"}` → value; a histogram
// gives name_count and name_sum. The body is returned too (for promtool).
func (s *swarmProc) scrape() (map[string]float64, string, error) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(s.metrics + "/metrics")
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	if _, err := body.ReadFrom(resp.Body); err != nil {
		return nil, "", err
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(body.Bytes()))
	if err != nil {
		return nil, "", fmt.Errorf("parse /metrics: %w", err)
	}
	out := map[string]float64{}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			key := name
			if len(m.GetLabel()) > 0 {
				var parts []string
				for _, l := range m.GetLabel() {
					parts = append(parts, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
				}
				key += "{" + strings.Join(parts, ",") + "}"
			}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				out[key] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[key] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[key+"_count"] = float64(m.GetHistogram().GetSampleCount())
				out[key+"_sum"] = m.GetHistogram().GetSampleSum()
			}
		}
	}
	return out, body.String(), nil
}

// mustScrape scrapes or fails the test.
func (s *swarmProc) mustScrape() map[string]float64 {
	s.t.Helper()
	m, _, err := s.scrape()
	if err != nil {
		s.t.Fatalf("scrape: %v", err)
	}
	return m
}

// waitMetric polls /metrics until cond holds for the scraped values.
func (s *swarmProc) waitMetric(timeout time.Duration, what string, cond func(m map[string]float64) bool) map[string]float64 {
	s.t.Helper()
	var last map[string]float64
	testenv.WaitFor(s.t, timeout, what, func() bool {
		if s.exited() {
			s.t.Fatalf("swarm exited (code %d) while waiting for %s", s.code, what)
		}
		m, _, err := s.scrape()
		if err != nil {
			return false
		}
		last = m
		return cond(m)
	})
	return last
}

// swarmSum adds every series whose key starts with prefix (e.g. all status codes).
func swarmSum(m map[string]float64, prefix string) float64 {
	var v float64
	for k, x := range m {
		if strings.HasPrefix(k, prefix) {
			v += x
		}
	}
	return v
}

// swarmProcStat is the part of /proc/PID/stat the tests read.
type swarmProcStat struct {
	pid, ppid                    int
	comm                         string
	state                        string
	utime, stime, cutime, cstime int64 // clock ticks
	rssPages                     int64
}

func swarmReadStat(pid int) (swarmProcStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return swarmProcStat{}, err
	}
	s := string(b)
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return swarmProcStat{}, fmt.Errorf("odd /proc/%d/stat", pid)
	}
	f := strings.Fields(s[closing+2:]) // f[0] is field 3 (state)
	if len(f) < 22 {
		return swarmProcStat{}, fmt.Errorf("short /proc/%d/stat", pid)
	}
	n := func(i int) int64 { v, _ := strconv.ParseInt(f[i-3], 10, 64); return v }
	return swarmProcStat{pid: pid, comm: s[open+1 : closing], state: f[0], ppid: int(n(4)),
		utime: n(14), stime: n(15), cutime: n(16), cstime: n(17), rssPages: n(24)}, nil
}

// swarmChildren lists the live (non-zombie) processes whose parent is pid.
func swarmChildren(pid int) []swarmProcStat {
	entries, _ := os.ReadDir("/proc")
	var out []swarmProcStat
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := swarmReadStat(p)
		if err == nil && st.ppid == pid && st.state != "Z" {
			out = append(out, st)
		}
	}
	return out
}

// swarmAlive reports whether pid exists and is not a zombie.
func swarmAlive(pid int) bool {
	st, err := swarmReadStat(pid)
	return err == nil && st.state != "Z"
}

// swarmProcessesMentioning lists live processes whose command line contains s.
func swarmProcessesMentioning(s string) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	self := os.Getpid()
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil || p == self {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p))
		if err == nil && bytes.Contains(b, []byte(s)) && swarmAlive(p) {
			out = append(out, p)
		}
	}
	return out
}

package main

// Integration tests: the real binary against a real live origin (FFmpeg → HLS → nginx, from
// internal/origin/origintest) on 127.0.0.1, with real FFmpeg clients. One origin serves every
// subtest. Skipped under -short.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/origin/origintest"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/report"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

func TestSwarmIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real FFmpeg clients against a real origin for ~2 minutes; skipped under -short")
	}
	bin := swarmBuildBinary(t)
	promtool := testenv.RequireBinary(t, "promtool")
	o := origintest.Start(t, "default", origintest.Small())
	segSeconds := o.Profile.SegmentSeconds

	t.Run("20 clients for 30s", func(t *testing.T) { run20x30(t, bin, promtool, o.PlaylistURL, segSeconds) })
	t.Run("SIGKILL 5 of 20 clients", func(t *testing.T) { killChildren(t, bin, o.PlaylistURL) })
	t.Run("origin answers 404 and 500", func(t *testing.T) { httpErrors(t, bin, o.BaseURL) })
	t.Run("origin down for 10s", func(t *testing.T) { originDown(t, bin, o.BaseURL) })
	t.Run("SIGTERM stops every client", func(t *testing.T) { sigterm(t, bin, o.PlaylistURL) })
	t.Run("SIGKILL of the swarm leaves no client", func(t *testing.T) { sigkillSwarm(t, bin, o.PlaylistURL) })
	t.Run("bad input fails before any client starts", func(t *testing.T) { badInput(t, bin, o.PlaylistURL) })
	t.Run("seed env names, single-dash flags, healthcheck", func(t *testing.T) { seedForm(t, bin, o.PlaylistURL) })
	t.Run("--check and --print-cmd", func(t *testing.T) { checkAndPrint(t, bin, o.PlaylistURL, o.BaseURL) })
}

func run20x30(t *testing.T, bin, promtool, playlist string, segSeconds int) {
	const clients, seconds = 20, 30
	summaryPath := filepath.Join(t.TempDir(), "summary.json")
	s := startSwarm(t, bin, "--clients", strconv.Itoa(clients), "--ramp-rate", "20", "--duration", fmt.Sprintf("%ds", seconds),
		"--summary-json", summaryPath, "--metrics-linger", "20s",
		"--threshold", "error_rate<0.01", "--threshold", "startup_p95<10s", playlist)

	s.waitMetric(60*time.Second, "20 active clients", func(m map[string]float64) bool {
		return m["hls_swarm_active_clients"] == clients && m["hls_swarm_target_clients"] == clients
	})
	// A live scrape (mid-run, every metric family present) must lint clean.
	s.waitMetric(60*time.Second, "a segment", func(m map[string]float64) bool { return m[`hls_swarm_attempts_total{object="segment"}`] > 0 })
	_, body, err := s.scrape()
	if err != nil {
		t.Fatal(err)
	}
	lint := exec.Command(promtool, "check", "metrics")
	lint.Stdin = strings.NewReader(body)
	if out, err := lint.CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("promtool check metrics on a live scrape: %v\n%s", err, out)
	}

	// The run ends by itself; the summary appears on stdout and metrics linger for a final scrape.
	testenv.WaitFor(t, time.Duration(seconds+30)*time.Second, "the summary", func() bool {
		return strings.Contains(s.stdout.String(), "result") || s.exited()
	})
	final := s.mustScrape()
	_ = s.cmd.Process.Signal(syscall.SIGTERM) // ends --metrics-linger early
	if code := s.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}

	want := float64(clients * (seconds/segSeconds - 3))
	t.Logf("segments %v (want >= %v), playlists %v, bytes %v, active %v", final[`hls_swarm_attempts_total{object="segment"}`], want,
		final[`hls_swarm_attempts_total{object="media"}`], swarmSum(final, "hls_swarm_received_bytes_total"), final["hls_swarm_active_clients"])
	if got := final[`hls_swarm_attempts_total{object="segment"}`]; got < want {
		t.Errorf("segment requests %v, want >= %v", got, want)
	}
	if swarmSum(final, "hls_swarm_received_bytes_total") <= 0 {
		t.Error("no bytes received")
	}
	if got := swarmSum(final, "hls_swarm_errors_total"); got != 0 {
		t.Errorf("errors %v, want 0", got)
	}
	if final["hls_swarm_peak_active_clients"] != clients {
		t.Errorf("peak active %v, want %d", final["hls_swarm_peak_active_clients"], clients)
	}

	b, err := os.ReadFile(summaryPath)
	if err != nil {
		t.Fatal(err)
	}
	var sum report.Summary
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	agree := []struct {
		name    string
		summary float64
		metric  string
	}{
		{"segments", float64(sum.Requests.Segments), `hls_swarm_attempts_total{object="segment"}`},
		{"playlists", float64(sum.Requests.Playlists), `hls_swarm_attempts_total{object="media"}`},
		{"segment bytes", float64(sum.Requests.Bytes["segment"]), `hls_swarm_received_bytes_total{object="segment"}`},
		{"playlist bytes", float64(sum.Requests.Bytes["media"]), `hls_swarm_received_bytes_total{object="media"}`},
		{"starts", float64(sum.Starts), "hls_swarm_client_starts_total"},
		{"restarts", float64(sum.Restarts), "hls_swarm_client_restarts_total"},
		{"stalls", float64(sum.Playback.Stalls), "hls_swarm_stalls_total"},
		{"peak", float64(sum.Clients.Peak), "hls_swarm_peak_active_clients"},
		{"target", float64(sum.Clients.Target), "hls_swarm_target_clients"},
		{"startup samples", float64(sum.Startup.Samples), "hls_swarm_time_to_first_segment_seconds_count"},
	}
	for _, a := range agree {
		if a.summary != final[a.metric] {
			t.Errorf("%s: summary JSON %v, metrics %v", a.name, a.summary, final[a.metric])
		}
	}
	if sum.Startup.Samples < clients || sum.Startup.P95 <= 0 || !sum.Pass || len(sum.Thresholds) != 2 {
		t.Errorf("summary: startup %+v pass %v thresholds %+v", sum.Startup, sum.Pass, sum.Thresholds)
	}
	table := s.stdout.String()
	for _, want := range []string{
		fmt.Sprintf("segments %d;", sum.Requests.Segments),
		fmt.Sprintf("(%d bytes)", sum.ReceivedBytes),
		"PASS  error_rate<0.01", "PASS  startup_p95<10s",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("stdout table lacks %q", want)
		}
	}
}

func killChildren(t *testing.T, bin, playlist string) {
	const clients, victims = 20, 5
	s := startSwarm(t, bin, "--clients", strconv.Itoa(clients), "--ramp-rate", "20", "--duration", "0", "--reconnect-delay-max", "2s", playlist)
	s.waitMetric(30*time.Second, "20 active clients with segments", func(m map[string]float64) bool {
		return m["hls_swarm_active_clients"] == clients && m["hls_swarm_time_to_first_segment_seconds_count"] >= clients
	})
	kids := waitChildren(t, s.cmd.Process.Pid, clients)
	killed := map[int]bool{}
	for _, k := range kids[:victims] {
		if k.comm != "ffmpeg" {
			t.Fatalf("child %d is %q, want ffmpeg", k.pid, k.comm)
		}
		if err := syscall.Kill(k.pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		killed[k.pid] = true
	}
	m := s.waitMetric(30*time.Second, "5 restarts and 20 active again", func(m map[string]float64) bool {
		return m["hls_swarm_client_restarts_total"] >= victims && m["hls_swarm_active_clients"] == clients
	})
	exits := m[`hls_swarm_client_exits_total{reason="killed"}`] + m[`hls_swarm_client_exits_total{reason="signal"}`]
	if exits != victims {
		t.Errorf("exits by signal %v, want %d (exits: killed %v, signal %v, error %v)", exits, victims,
			m[`hls_swarm_client_exits_total{reason="killed"}`], m[`hls_swarm_client_exits_total{reason="signal"}`], m[`hls_swarm_client_exits_total{reason="error"}`])
	}
	if m["hls_swarm_client_restarts_scheduled_total"] < victims || m["hls_swarm_client_restarts_total"] < victims {
		t.Errorf("restarts scheduled %v, restarts %v; want %d each", m["hls_swarm_client_restarts_scheduled_total"], m["hls_swarm_client_restarts_total"], victims)
	}
	// With backoff: each restart waited a positive delay, capped by --reconnect-delay-max 2s.
	n, sum := m["hls_swarm_client_restart_backoff_seconds_count"], m["hls_swarm_client_restart_backoff_seconds_sum"]
	if n < victims || sum <= 0 || sum/n > 2 {
		t.Errorf("restart backoff: %v delays summing to %vs; want >= %d, each in (0, 2s]", n, sum, victims)
	}
	t.Logf("restart backoff: %v delays, mean %.3fs", n, sum/n)
	for _, k := range swarmChildren(s.cmd.Process.Pid) {
		if killed[k.pid] {
			t.Errorf("killed child %d is still a child", k.pid)
		}
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	if code := s.wait(15 * time.Second); code != 0 {
		t.Errorf("exit code after SIGTERM %d, want 0", code)
	}
	sm := regexp.MustCompile(`starts\s+(\d+) \(restarts (\d+)\)`).FindStringSubmatch(s.stdout.String())
	if sm == nil {
		t.Fatalf("no starts line in the summary:\n%s", s.stdout.String())
	}
	starts, _ := strconv.Atoi(sm[1])
	restarts, _ := strconv.Atoi(sm[2])
	if restarts < victims || starts != clients+restarts {
		t.Errorf("summary counts %d starts, %d restarts; want >= %d restarts and starts = %d + restarts", starts, restarts, victims, clients)
	}
}

// faultProxy is a reverse proxy in front of the origin that can fail segments or refuse connections.
type faultProxy struct {
	addr    string
	target  *url.URL
	mu      sync.Mutex
	srv     *http.Server
	failFor func(segment int) int // status to answer for segment number n, 0 = pass through
	served  atomic.Int64          // segments passed through
	answers map[string][]answer   // user agent → what the proxy answered itself
}

// answer is a response the fault proxy made up (the origin never saw the request).
type answer struct {
	path   string
	status int
	bytes  int64
}

// addAnswers adds the proxy's own answers to requests of user agent ua to t.
func (p *faultProxy) addAnswers(t origintest.Tally, ua string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, a := range p.answers[ua] {
		t.Add(origintest.ObjectOf(a.path), a.status, a.bytes)
	}
}

var swarmSegmentNumber = regexp.MustCompile(`(\d+)\.ts$`)

// fail404And500 makes p answer 404 for segment n when n%every == 1 and 500 when n%every == 3.
func (p *faultProxy) fail404And500(every int) {
	p.setFail(func(n int) int {
		switch n % every {
		case 1:
			return http.StatusNotFound
		case 3:
			return http.StatusInternalServerError
		}
		return 0
	})
}

// setFail sets the status p answers for segment n (0 = pass through).
func (p *faultProxy) setFail(f func(segment int) int) {
	p.mu.Lock()
	p.failFor = f
	p.mu.Unlock()
}

func newFaultProxy(t *testing.T, base string) *faultProxy {
	target, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{addr: fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)), target: target}
	p.up(t)
	t.Cleanup(p.down)
	return p
}

func (p *faultProxy) handler() http.Handler {
	rp := httputil.NewSingleHostReverseProxy(p.target)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m := swarmSegmentNumber.FindStringSubmatch(r.URL.Path); m != nil {
			n, _ := strconv.Atoi(m[1])
			p.mu.Lock()
			fail := p.failFor
			p.mu.Unlock()
			if fail != nil {
				if code := fail(n); code != 0 {
					body := http.StatusText(code)
					http.Error(w, body, code)
					p.mu.Lock()
					if p.answers == nil {
						p.answers = map[string][]answer{}
					}
					ua := r.UserAgent()
					p.answers[ua] = append(p.answers[ua], answer{r.URL.Path, code, int64(len(body) + 1)})
					p.mu.Unlock()
					return
				}
			}
			p.served.Add(1)
		}
		rp.ServeHTTP(w, r)
	})
}

// up starts serving (again) on the proxy's fixed address.
func (p *faultProxy) up(t *testing.T) {
	var ln net.Listener
	testenv.WaitFor(t, 10*time.Second, "the proxy port", func() bool {
		var err error
		ln, err = net.Listen("tcp", p.addr)
		return err == nil
	})
	srv := &http.Server{Handler: p.handler(), ReadHeaderTimeout: 5 * time.Second}
	p.mu.Lock()
	p.srv = srv
	p.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// shutdown stops like nginx's graceful stop: the listener and idle connections close at once
// (new connections are refused), requests in flight finish.
func (p *faultProxy) shutdown() {
	p.mu.Lock()
	srv := p.srv
	p.srv = nil
	p.mu.Unlock()
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}
}

// down closes the listener and every connection: new connections are refused.
func (p *faultProxy) down() {
	p.mu.Lock()
	srv := p.srv
	p.srv = nil
	p.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

func httpErrors(t *testing.T, bin, base string) {
	p := newFaultProxy(t, base)
	p.fail404And500(4)
	const clients = 10
	s := startSwarm(t, bin, "--clients", strconv.Itoa(clients), "--ramp-rate", "20", "--duration", "0",
		"--threshold", "http_errors==0", "http://"+p.addr+"/stream.m3u8")
	m := s.waitMetric(60*time.Second, "404s and 500s counted", func(m map[string]float64) bool {
		return m[`hls_swarm_responses_total{object="segment",status="404"}`] >= clients && m[`hls_swarm_responses_total{object="segment",status="500"}`] >= clients
	})
	segs := m[`hls_swarm_attempts_total{object="segment"}`]
	// The run goes on: more segments arrive after the errors, with every client still running.
	s.waitMetric(30*time.Second, "segments to keep coming", func(m2 map[string]float64) bool {
		return m2[`hls_swarm_attempts_total{object="segment"}`] >= segs+clients && m2["hls_swarm_active_clients"] == clients
	})
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	if code := s.wait(15 * time.Second); code != 1 {
		t.Errorf("exit code %d with a failing http_errors==0 threshold, want 1", code)
	}
	out := s.stdout.String()
	if !strings.Contains(out, "FAIL  http_errors==0") || !regexp.MustCompile(`404 \d+, 500 \d+`).MatchString(out) {
		t.Errorf("summary lacks the failed threshold or errors by status:\n%s", out)
	}
	if !strings.Contains(s.stderr.String(), "thresholds failed: http_errors==0") {
		t.Errorf("stderr does not name the failed threshold:\n%s", swarmTail(s.stderr.String(), 5))
	}
}

func originDown(t *testing.T, bin, base string) {
	p := newFaultProxy(t, base)
	const clients = 10
	s := startSwarm(t, bin, "--clients", strconv.Itoa(clients), "--ramp-rate", "20", "--duration", "0",
		"--timeout", "3s", "--reconnect-delay-max", "2s", "http://"+p.addr+"/stream.m3u8")
	s.waitMetric(30*time.Second, "segments flowing", func(m map[string]float64) bool {
		return m["hls_swarm_time_to_first_segment_seconds_count"] >= clients
	})
	p.down()
	time.Sleep(10 * time.Second) // the outage itself, not an assertion
	before := s.mustScrape()
	servedBefore := p.served.Load()
	p.up(t)
	after := s.waitMetric(60*time.Second, "segments to flow again after the origin came back", func(m map[string]float64) bool {
		return m[`hls_swarm_attempts_total{object="segment"}`] >= before[`hls_swarm_attempts_total{object="segment"}`]+2*clients &&
			p.served.Load() >= servedBefore+2*clients
	})
	t.Logf("during the outage: exits %v, restarts %v, refused %v, failed attempts %v of %v; after: active %v",
		swarmSum(before, "hls_swarm_client_exits_total"), before["hls_swarm_client_restarts_total"], swarmSum(before, `hls_swarm_errors_total{class="refused"`),
		swarmSum(before, "hls_swarm_errors_total"), swarmSum(before, "hls_swarm_attempts_total"), after["hls_swarm_active_clients"])
	s.waitMetric(30*time.Second, "every client running again", func(m map[string]float64) bool {
		return m["hls_swarm_active_clients"] == clients
	})
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	s.wait(15 * time.Second)
}

func sigterm(t *testing.T, bin, playlist string) {
	const clients = 10
	s := startSwarm(t, bin, "--clients", strconv.Itoa(clients), "--ramp-rate", "20", "--duration", "0", playlist)
	s.waitMetric(30*time.Second, "10 active clients", func(m map[string]float64) bool {
		return m["hls_swarm_active_clients"] == clients
	})
	pid := s.cmd.Process.Pid
	kids := waitChildren(t, pid, clients)
	sent := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 5*time.Second, "every FFmpeg child to be gone", func() bool {
		for _, k := range kids {
			if swarmAlive(k.pid) {
				return false
			}
		}
		return true
	})
	t.Logf("children gone %s after SIGTERM", time.Since(sent).Round(time.Millisecond))
	if code := s.wait(10 * time.Second); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0 (documented)", code)
	}
	if !strings.Contains(s.stdout.String(), "(interrupted)") || !strings.Contains(s.stdout.String(), "result") {
		t.Errorf("no summary after SIGTERM:\n%s", s.stdout.String())
	}
	u, _ := url.Parse(playlist)
	if orphans := swarmProcessesMentioning(u.Host); len(orphans) > 0 {
		// nginx and the origin's FFmpeg do not name the host:port; anything that does is a client.
		for _, p := range orphans {
			st, _ := swarmReadStat(p)
			if st.comm == "ffmpeg" {
				t.Errorf("orphan FFmpeg client %d still running", p)
			}
		}
	}
}

func badInput(t *testing.T, bin, playlist string) {
	closed := fmt.Sprintf("http://127.0.0.1:%d/stream.m3u8", testenv.FreePort(t))
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"bad URL", []string{"not a url"}, 2, "scheme must be http or https"},
		{"ftp URL", []string{"ftp://127.0.0.1/x.m3u8"}, 2, "scheme must be http or https"},
		{"no URL", nil, 2, "no stream URL"},
		{"unreachable host", []string{closed}, 3, "unreachable"},
		{"missing ffmpeg", []string{"--ffmpeg", "/nonexistent/ffmpeg", playlist}, 3, "/nonexistent/ffmpeg"},
		{"text clients", []string{"--clients", "lots", playlist}, 2, "invalid argument \"lots\""},
		{"negative clients", []string{"-clients", "-3", playlist}, 2, "--clients is -3"},
		{"bad duration", []string{"-duration", "banana", playlist}, 2, "invalid argument \"banana\""},
		{"negative ramp", []string{"--ramp-rate", "-1", playlist}, 2, "--ramp-rate is -1"}, // 0 starts all at once
		{"bad variant", []string{"--variant", "best", playlist}, 2, "--variant \"best\""},
		{"bad profile", []string{"--profile", "turbo", playlist}, 2, "valid profiles are default, stress, gentle, burst, extreme"},
		{"bad threshold", []string{"--threshold", "latency<3s", playlist}, 2, "unknown metric \"latency\""},
		{"bad env", []string{playlist}, 2, "environment CLIENTS=\"ten\""},
		{"unknown flag", []string{"--clientz", "3", playlist}, 2, "unknown flag: --clientz"},
		{"summary dir missing", []string{"--summary-json", filepath.Join(dir, "no", "s.json"), playlist}, 2, "--summary-json"},
		{"metrics port busy", []string{"--metrics-addr", busy.Addr().String(), playlist}, 3, "--metrics-port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(bin, tt.args...)
			cmd.Env = swarmEnv()
			if tt.name == "bad env" {
				cmd.Env = append(cmd.Env, "CLIENTS=ten")
			}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			start := time.Now()
			err := cmd.Run()
			code := cmd.ProcessState.ExitCode()
			if err != nil && code < 0 {
				t.Fatal(err)
			}
			msg := strings.TrimSpace(stderr.String())
			if code != tt.code || strings.Count(msg, "\n") != 0 || !strings.Contains(msg, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and one line containing %q", code, msg, tt.code, tt.want)
			}
			if !strings.HasPrefix(msg, "go-ffmpeg-hls-swarm: ") {
				t.Errorf("stderr %q does not start with the program name", msg)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout not empty: %q", stdout.String())
			}
			t.Logf("%s: exit %d in %s: %s", tt.name, code, time.Since(start).Round(time.Millisecond), msg)
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("files left behind: %v", entries)
	}
}

func seedForm(t *testing.T, bin, playlist string) {
	port := testenv.FreePort(t)
	summaryPath := filepath.Join(t.TempDir(), "s.json")
	cmd := exec.Command(bin, "-ramp-rate", "10", "-summary-json="+summaryPath, "-threshold", "segments>=3")
	cmd.Env = append(swarmEnv(), "CLIENTS=3", "DURATION=12s", "STREAM_URL="+playlist,
		fmt.Sprintf("METRICS_PORT=%d", port), "LOG_LEVEL=debug", "SWARM_LOG_FORMAT=json")
	var stdout, stderr testenv.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			_ = cmd.Process.Kill()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Errorf("swarm %d not reaped 10 s after SIGKILL", cmd.Process.Pid)
			}
		}
		if t.Failed() {
			t.Logf("stdout:\n%s\nstderr:\n%s", stdout.String(), swarmTail(stderr.String(), 20))
		}
	})
	health := func(path string) int {
		hc := exec.Command(bin, "healthcheck", "--url", fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
		hc.Env = swarmEnv()
		_ = hc.Run()
		return hc.ProcessState.ExitCode()
	}
	testenv.WaitFor(t, 20*time.Second, "/healthz via the healthcheck subcommand", func() bool { return health("/healthz") == 0 })
	testenv.WaitFor(t, 30*time.Second, "/readyz via the healthcheck subcommand", func() bool { return health("/readyz") == 0 })
	select {
	case <-done:
		if waitErr != nil {
			t.Fatalf("swarm: %v", waitErr)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("swarm did not end after DURATION=12s")
	}
	var settings struct {
		Settings map[string]any `json:"settings"`
		From     map[string]string
	}
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(line, `"effective settings"`) {
			if err := json.Unmarshal([]byte(line), &settings); err != nil {
				t.Fatal(err)
			}
		}
	}
	if settings.Settings["clients"] != 3.0 || settings.From["clients"] != "env CLIENTS" || settings.From["ramp-rate"] != "flag" ||
		settings.From["url"] != "env STREAM_URL" || settings.From["log-level"] != "env LOG_LEVEL" {
		t.Errorf("effective settings: %+v", settings)
	}
	if n := strings.Count(stderr.String(), `"effective settings"`); n != 1 {
		t.Errorf("effective settings logged %d times, want once", n)
	}
	b, err := os.ReadFile(summaryPath)
	if err != nil {
		t.Fatal(err)
	}
	var sum report.Summary
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Clients.Target != 3 || sum.Clients.Peak != 3 || !sum.Pass || sum.DurationSeconds < 12 {
		t.Errorf("summary: clients %+v pass %v duration %v", sum.Clients, sum.Pass, sum.DurationSeconds)
	}
}

func checkAndPrint(t *testing.T, bin, playlist, base string) {
	run := func(args ...string) (string, string, int) {
		cmd := exec.Command(bin, args...)
		cmd.Env = swarmEnv()
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		_ = cmd.Run()
		return stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()
	}
	out, errOut, code := run("--print-cmd", "--user-agent", "swarm-test", "--header", "X-Swarm: 1", playlist)
	program, _, _ := strings.Cut(out, " ") // ffmpeg, or the path in $HLS_SWARM_FFMPEG
	if code != 0 || filepath.Base(program) != "ffmpeg" || !strings.Contains(out, playlist) || strings.Count(out, "\n") != 1 ||
		!strings.Contains(out, "swarm-test") || !strings.Contains(out, "X-Swarm: 1") {
		t.Errorf("--print-cmd: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	start := time.Now()
	out, errOut, code = run("--check", playlist)
	// It says what it runs and for how long: one client, 10 s, plus at most the grace period to stop.
	if code != 0 || !strings.Contains(out, "check: PASS") || !strings.Contains(out, "target 1,") ||
		!strings.Contains(errOut, "now one client for a fixed time") || !strings.Contains(errOut, "duration=10s grace_period=3s") {
		t.Errorf("--check: exit %d after %s, stdout:\n%s\nstderr:\n%s", code, time.Since(start), out, swarmTail(errOut, 10))
	}
	t.Logf("--check took %s", time.Since(start).Round(time.Millisecond))

	p := newFaultProxy(t, base)
	p.setFail(func(int) int { return http.StatusNotFound })
	out, errOut, code = run("--check", "http://"+p.addr+"/stream.m3u8")
	if code != 1 || !strings.Contains(out, "check: FAIL") || !strings.Contains(errOut, "thresholds failed: startup_max<=10s, errors==0") {
		t.Errorf("--check with every segment 404: exit %d, stdout:\n%s\nstderr:\n%s", code, out, swarmTail(errOut, 5))
	}
}

// killSwarm SIGKILLs the swarm once its clients (FFmpeg children) run, and waits for every one of
// them to die with it (the parent-death signal).
func killSwarm(t *testing.T, s *swarmProc, clients int) {
	t.Helper()
	kids := waitChildren(t, s.cmd.Process.Pid, clients)
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	s.wait(10 * time.Second)
	testenv.WaitFor(t, 5*time.Second, "every FFmpeg child to die with the swarm", func() bool {
		for _, k := range kids {
			if swarmAlive(k.pid) {
				return false
			}
		}
		return true
	})
}

func sigkillSwarm(t *testing.T, bin, playlist string) {
	const clients = 5
	s := startSwarm(t, bin, "--clients", strconv.Itoa(clients), "--ramp-rate", "20", "--duration", "0", playlist)
	s.waitMetric(30*time.Second, "5 active clients", func(m map[string]float64) bool {
		return m["hls_swarm_active_clients"] == clients
	})
	killSwarm(t, s, clients)
}

// waitChildren waits until pid has exactly n live children and returns them.
func waitChildren(t *testing.T, pid, n int) []swarmProcStat {
	var kids []swarmProcStat
	testenv.WaitFor(t, 30*time.Second, fmt.Sprintf("%d FFmpeg children in /proc", n), func() bool {
		kids = swarmChildren(pid)
		return len(kids) == n
	})
	return kids
}

package main

// Exactness: the swarm's counts, statuses and bytes equal nginx's access log of the `logged`
// origin (an independent record), healthy, behind a fault proxy answering 404 and 500, and with
// the origin stopped for 10 s; and the origin sees as many TCP connections with the swarm's
// metering proxy as with FFmpeg alone. Skipped under -short.

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/origin/origintest"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/proc"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/report"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

func TestSwarmExactness(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 20 real FFmpeg clients for about 4 minutes; skipped under -short")
	}
	bin := swarmBuildBinary(t)
	o, ng := startLoggedOrigin(t)
	var connsWithProxy int
	var proxyConns []clientConns

	t.Run("20 clients for 60s equal the access log", func(t *testing.T) {
		accepts0 := ng.accepts(t)
		var swarm *swarmProc
		sum, final := exactRun(t, bin, ng, o.PlaylistURL, 20, "60s", nil, func(s *swarmProc) { swarm = s })
		withProxy := ng.accepts(t) - accepts0
		proxyConns = swarm.clientConns(t)
		if sum.Errors.Total != 0 || sum.Requests.Segments < 20*(60/2-3) {
			t.Errorf("healthy run: %d failed attempts, %d segments", sum.Errors.Total, sum.Requests.Segments)
		}
		// A healthy loopback run: no client's playback buffer ever ran dry.
		if p := sum.Playback; p.Stalls != 0 || p.RebufferSeconds != 0 || p.Stream != "live" || p.Bitrate.Clients != 20 {
			t.Errorf("healthy run playback: %+v, want 0 stalls on a live stream, a bitrate for each of 20 clients", p)
		}
		t.Logf("playback: %+v", sum.Playback)
		t.Logf("reused %d of %d attempts; metrics segment attempts %v", sum.Requests.Reused, sum.Requests.Total,
			final[`hls_swarm_attempts_total{object="segment"}`])
		connsWithProxy = withProxy - 1 // the swarm's own preflight fetch is not a client's
	})

	t.Run("the origin sees as many connections with the proxy as with FFmpeg alone", func(t *testing.T) {
		if connsWithProxy == 0 {
			t.Skip("the proxied run did not complete")
		}
		accepts0 := ng.accepts(t)
		bare := bareClients(t, bin, o.PlaylistURL, 20, 60*time.Second)
		without := ng.accepts(t) - accepts0
		t.Logf("origin TCP connections (stub_status accepts), 20 clients for 60 s: %d through the metering proxy, %d with FFmpeg alone",
			connsWithProxy, without)
		// Both counts hold the second stub_status request's own connection. Through the proxy,
		// each client connection is one origin connection (dialled = accepted), plus a redial
		// where the origin had closed a kept-alive connection before the next request (where
		// FFmpeg alone opens a new connection itself). FFmpeg 5.1 opens 4 connections per client
		// and a 5th when it reuses its idle probing connection after nginx's 30 s keep-alive
		// closed it, which happens in some runs before 60 s and in others after: so each
		// client is compared, not the sums of two runs.
		var b strings.Builder
		sumProxy, sumBare, bad := 0, 0, false
		for i, c := range proxyConns {
			n := -1
			if i < len(bare) {
				n = bare[i]
			}
			origin := c.Dialled + c.Redialled + c.OtherHost
			sumProxy += origin
			sumBare += max(n, 0)
			if c.Dialled != c.Accepted || origin-n > 1 || n-origin > 1 {
				bad = true
			}
			fmt.Fprintf(&b, "\n  client %2d: proxy accepted %d, dialled %d, redialled %d, other host %d (origin %d); FFmpeg alone %d",
				i, c.Accepted, c.Dialled, c.Redialled, c.OtherHost, origin, n)
		}
		if len(proxyConns) != 20 || len(bare) != 20 {
			bad = true
		}
		// The proxies' own counts equal the origin's (independent) count exactly.
		if connsWithProxy-1 != sumProxy || without-1 != sumBare {
			t.Errorf("nginx accepts %d (proxy) and %d (FFmpeg alone), each with one stub_status request, but the clients' counts sum to %d and %d",
				connsWithProxy, without, sumProxy, sumBare)
			bad = true
		}
		if bad {
			t.Errorf("connections with the proxy %d, without %d: not one origin connection per client connection, or a client differs by more than 1; per client:%s",
				connsWithProxy, without, b.String())
		} else {
			t.Logf("per client:%s", b.String())
		}
	})

	t.Run("404 and 500 from a fault proxy equal the log plus the proxy's answers", func(t *testing.T) {
		p := newFaultProxy(t, o.BaseURL)
		p.fail404And500(5)
		sum, _ := exactRun(t, bin, ng, "http://"+p.addr+"/stream.m3u8", 20, "40s", p, nil)
		if sum.Errors.HTTPStatus["404"] == 0 || sum.Errors.HTTPStatus["500"] == 0 || sum.Errors.Total != sum.Errors.HTTP {
			t.Errorf("errors %+v: want 404s and 500s and nothing else", sum.Errors)
		}
	})

	t.Run("https: a TLS origin's own count equals the swarm's; a wrong certificate is exit 3 unless --insecure", func(t *testing.T) {
		to := newTLSOrigin(t, o.BaseURL)
		sum, _ := exactRunWith(t, bin, to.tally, to.url, 10, "30s", nil, "--ca-file", to.caFile)
		if sum.Errors.Total != 0 || sum.Requests.Segments < 10*(30/2-3) || sum.Playback.Stalls != 0 {
			t.Errorf("https run: %d failed attempts, %d segments, %d stalls", sum.Errors.Total, sum.Requests.Segments, sum.Playback.Stalls)
		}
		run := func(args ...string) (string, int) {
			cmd := exec.Command(bin, args...)
			cmd.Env = swarmEnv()
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			_ = cmd.Run()
			return strings.TrimSpace(stderr.String()), cmd.ProcessState.ExitCode()
		}
		msg, code := run("--clients", "1", "--duration", "3s", "--metrics-port", "0", to.url)
		if code != 3 || strings.Count(msg, "\n") != 0 || !strings.Contains(msg, "not trusted") || !strings.Contains(msg, "--ca-file") {
			t.Errorf("untrusted certificate: exit %d, stderr %q; want exit 3 and one line naming --ca-file", code, msg)
		}
		t.Logf("untrusted certificate: exit %d: %s", code, msg)
		summary := filepath.Join(t.TempDir(), "s.json")
		_, code = run("--clients", "1", "--duration", "8s", "--metrics-port", "0", "--log-level", "error", "--insecure",
			"--summary-json", summary, to.url)
		b, _ := os.ReadFile(summary)
		var sum2 report.Summary
		_ = json.Unmarshal(b, &sum2)
		if code != 0 || sum2.Requests.Segments == 0 || sum2.Errors.Total != 0 {
			t.Errorf("--insecure: exit %d, %d segments, %d failed attempts", code, sum2.Requests.Segments, sum2.Errors.Total)
		}
	})

	t.Run("origin down for 10s: error rate within 100%, refused attempts counted once", func(t *testing.T) {
		p := newFaultProxy(t, o.BaseURL)
		outage := func(s *swarmProc) {
			s.waitMetric(60*time.Second, "20 clients playing", func(m map[string]float64) bool {
				return m["hls_swarm_time_to_first_segment_seconds_count"] >= 20
			})
			p.shutdown()                 // graceful, like nginx's: requests in flight finish, then connections are refused
			time.Sleep(10 * time.Second) // the outage itself, not an assertion
			p.up(t)
		}
		sum, final := exactRun(t, bin, ng, "http://"+p.addr+"/stream.m3u8", 20, "45s", nil, outage)
		refused := sum.Errors.Class["refused"]
		if refused == 0 || sum.Errors.Rate > 1 || sum.Errors.Total > sum.Requests.Total {
			t.Errorf("refused %d, error rate %g, failed %d of %d attempts", refused, sum.Errors.Rate, sum.Errors.Total, sum.Requests.Total)
		}
		var noStatus int64
		for _, n := range sum.Errors.ObjectCls {
			for class, k := range n {
				if class != "http" {
					noStatus += k
				}
			}
		}
		// Every attempt is either a response (in the log) or a failed connection (refused here).
		var responses int64
		for _, byStatus := range sum.Requests.ObjectStatus {
			for _, n := range byStatus {
				responses += n
			}
		}
		if responses+noStatus < sum.Requests.Total {
			t.Errorf("%d attempts, but %d responses and %d failed connections", sum.Requests.Total, responses, noStatus)
		}
		if got := swarmSum(final, `hls_swarm_errors_total{class="refused"`); got != float64(refused) {
			t.Errorf("refused: summary %d, metrics %v", refused, got)
		}
		t.Logf("failed attempts by class %v, error rate %.2f%%, restarts %d", sum.Errors.Class, 100*sum.Errors.Rate, sum.Restarts)
	})
}

// startLoggedOrigin starts the logged origin profile with its access log, the independent truth,
// in a directory of its own that nginx's workers (another user) can reopen the log in on SIGUSR1.
func startLoggedOrigin(t *testing.T) (*origintest.Origin, *accessLog) {
	t.Helper()
	logDir := testenv.SharedTempDir(t, "hls-swarm-access-log-")
	o := origintest.Start(t, "logged", origintest.Small(), origintest.WithLogDir(logDir))
	return o, &accessLog{path: filepath.Join(logDir, "access.log"), o: o}
}

// accessLog reads the logged origin's nginx access log.
type accessLog struct {
	path string
	o    *origintest.Origin
}

// tally counts the lines of user agent ua, less the swarm's own preflight fetch
// (origintest.ReadAccessLog).
func (l *accessLog) tally(t *testing.T, ua string) origintest.Tally {
	_, nginx := l.o.Origin.PIDs()
	_ = syscall.Kill(nginx, syscall.SIGUSR1) // reopen logs: flushes the buffered access log
	f, err := os.Open(l.path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out, _, err := origintest.ReadAccessLog(f, ua, 1)
	if err != nil {
		t.Fatalf("read %s: %v", l.path, err)
	}
	return out
}

// accepts is nginx's count of accepted TCP connections (stub_status).
func (l *accessLog) accepts(t *testing.T) int {
	resp, err := http.Get(l.o.BaseURL + "/nginx_status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	lines := strings.Split(string(b), "\n")
	if len(lines) < 3 {
		t.Fatalf("stub_status: %q", b)
	}
	n, err := strconv.Atoi(strings.Fields(lines[2])[0])
	if err != nil {
		t.Fatalf("stub_status: %q", b)
	}
	return n
}

// exactRun runs the swarm to its end against url and checks that its summary JSON and its final
// /metrics both equal the access log (plus what fault answered itself). during, if set, runs
// while the swarm does.
func exactRun(t *testing.T, bin string, ng *accessLog, url string, clients int, dur string, fault *faultProxy,
	during func(*swarmProc), extra ...string) (report.Summary, map[string]float64) {
	return exactRunWith(t, bin, func(ua string) origintest.Tally {
		want := ng.tally(t, ua)
		if fault != nil {
			fault.addAnswers(want, ua)
		}
		return want
	}, url, clients, dur, during, extra...)
}

// exactRunWith is exactRun against any origin whose own record of a run (by user agent) is
// origin(ua).
func exactRunWith(t *testing.T, bin string, origin func(ua string) origintest.Tally, url string, clients int, dur string,
	during func(*swarmProc), extra ...string) (report.Summary, map[string]float64) {
	ua := uaMarker()
	summaryPath := filepath.Join(t.TempDir(), "summary.json")
	args := append([]string{"--clients", strconv.Itoa(clients), "--ramp-rate", "20", "--duration", dur,
		"--user-agent", ua, "--summary-json", summaryPath, "--metrics-linger", "60s"}, extra...)
	s := startSwarm(t, bin, append(args, url)...)
	if during != nil {
		during(s)
	}
	d, _ := time.ParseDuration(dur)
	testenv.WaitFor(t, d+90*time.Second, "the summary", func() bool {
		return strings.Contains(s.stdout.String(), "result") || s.exited()
	})
	final := s.mustScrape()
	_ = s.cmd.Process.Signal(syscall.SIGTERM) // ends --metrics-linger
	s.wait(15 * time.Second)

	b, err := os.ReadFile(summaryPath)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), `\u003c`) {
		t.Error("summary JSON escapes < as \\u003c")
	}
	var sum report.Summary
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}

	fromSummary, fromMetrics := origintest.TallyOf(sum.Requests.ObjectStatus, sum.Requests.Bytes), origintest.NewTally()
	resp := regexp.MustCompile(`^hls_swarm_responses_total\{object="(\w+)",status="(\d+)"\}$`)
	byts := regexp.MustCompile(`^hls_swarm_received_bytes_total\{object="(\w+)"\}$`)
	for k, v := range final {
		if m := resp.FindStringSubmatch(k); m != nil && v > 0 {
			if fromMetrics.Status[m[1]] == nil {
				fromMetrics.Status[m[1]] = map[string]int64{}
			}
			fromMetrics.Status[m[1]][m[2]] = int64(v)
		}
		if m := byts.FindStringSubmatch(k); m != nil && v > 0 {
			fromMetrics.Bytes[m[1]] = int64(v)
		}
	}
	if !fromSummary.Equal(fromMetrics) {
		t.Errorf("summary JSON and /metrics differ:\nsummary %s\nmetrics %s", fromSummary, fromMetrics)
	}
	if got := swarmSum(final, "hls_swarm_attempts_total"); got != float64(sum.Requests.Total) {
		t.Errorf("attempts: summary %d, metrics %v", sum.Requests.Total, got)
	}

	// nginx writes its buffered log within flush=5s (and on SIGUSR1): wait until it holds the run.
	var want origintest.Tally
	deadline := time.Now().Add(30 * time.Second)
	for {
		want = origin(ua)
		if want.Equal(fromSummary) || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if !want.Equal(fromSummary) {
		t.Errorf("the swarm's counts differ from the origin's:\naccess log %s\nswarm      %s", want, fromSummary)
	}
	objs := slices.Sorted(maps.Keys(want.Status))
	t.Logf("access log = summary = /metrics: %s (objects %v); attempts %d, failed %d %v, error rate %.3f%%",
		want, objs, sum.Requests.Total, sum.Errors.Total, sum.Errors.Class, 100*sum.Errors.Rate)
	return sum, final
}

// clientConns is one client's "client connections" log line (internal/swarm/meter.ConnStats).
type clientConns struct {
	Client    int `json:"client"`
	Accepted  int `json:"accepted"`
	Dialled   int `json:"dialled"`
	Redialled int `json:"redialled"`
	OtherHost int `json:"other_host"`
}

// clientConns reads each client's connection counts from the swarm's JSON log, by client.
func (s *swarmProc) clientConns(t *testing.T) []clientConns {
	var out []clientConns
	for _, line := range strings.Split(s.stdout.String()+"\n"+s.stderr.String(), "\n") {
		var c struct {
			Msg string `json:"msg"`
			clientConns
		}
		if json.Unmarshal([]byte(line), &c) != nil || c.Msg != "client connections" {
			continue
		}
		for len(out) <= c.Client {
			out = append(out, clientConns{})
		}
		out[c.Client] = c.clientConns
	}
	if len(out) == 0 {
		t.Error("the swarm logged no \"client connections\" line")
	}
	return out
}

// bareClients runs n FFmpeg clients exactly as the swarm would, without its proxy, for d, and
// returns how many TCP connections each opened. Each client reaches the origin through a
// byte relay of its own that counts them: one origin connection per client connection, bytes
// and closes (half-closes included) passed through untouched.
func bareClients(t *testing.T, bin, url string, n int, d time.Duration) []int {
	ua := uaMarker()
	target, err := neturl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	pc := exec.Command(bin, "--print-cmd", "--user-agent", ua, url)
	pc.Env = swarmEnv() // the same FFmpeg as the swarm's clients ($HLS_SWARM_FFMPEG)
	out, err := pc.Output()
	if err != nil {
		t.Fatalf("--print-cmd: %v", err)
	}
	line := strings.TrimSpace(string(out))
	if !strings.Contains(line, url) {
		t.Fatalf("--print-cmd %q does not hold the URL %q as is", line, url)
	}
	counts := make([]atomic.Int64, n)
	var cmds []*exec.Cmd
	for i := 0; i < n; i++ {
		u := *target
		u.Host = countingRelay(t, target.Host, &counts[i])
		// fd 3 for its -progress pipe:3: FFmpeg 7.1 exits at once when it cannot open it (5.1 goes on).
		c := exec.Command("bash", "-c", "exec 3>/dev/null; exec "+strings.Replace(line, url, u.String(), 1))
		if err := proc.Start(c, syscall.SIGKILL); err != nil { // own process group, dies with the test
			t.Fatal(err)
		}
		cmds = append(cmds, c)
		time.Sleep(50 * time.Millisecond) // the swarm's ramp, 20/s
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	<-ctx.Done()
	for _, c := range cmds {
		_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		_ = c.Wait()
	}
	opened := make([]int, n)
	for i := range counts {
		opened[i] = int(counts[i].Load())
	}
	return opened
}

// countingRelay listens on a free loopback port and relays each connection to addr over a
// connection of its own, counting them in n. It stops with the test.
func countingRelay(t *testing.T, addr string, n *atomic.Int64) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var open []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range open {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			down, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", addr)
			if err != nil {
				down.Close()
				continue
			}
			n.Add(1)
			mu.Lock()
			open = append(open, down, up)
			mu.Unlock()
			pipe := func(dst, src net.Conn) {
				defer wg.Done()
				_, _ = io.Copy(dst, src)
				_ = dst.(*net.TCPConn).CloseWrite()
			}
			wg.Add(2)
			go pipe(up, down)
			go pipe(down, up)
		}
	}()
	return ln.Addr().String()
}

// uaMarker is a user agent unique to one run, to pick its lines from the shared access log.
func uaMarker() string { return fmt.Sprintf("swarm-exact-%016x", rand.Uint64()) }

// tlsOrigin is an HTTPS origin made in the test: a TLS reverse proxy (its own self-signed CA,
// written to caFile) in front of nginx, which records every response it sends by user agent.
type tlsOrigin struct {
	url, caFile string
	mu          sync.Mutex
	sent        map[string][]answer
}

func newTLSOrigin(t *testing.T, base string) *tlsOrigin {
	target, err := neturl.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	o := &tlsOrigin{sent: map[string][]answer{}}
	rp := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cw := &countingWriter{ResponseWriter: w, status: http.StatusOK}
		rp.ServeHTTP(cw, r)
		o.mu.Lock()
		o.sent[r.UserAgent()] = append(o.sent[r.UserAgent()], answer{r.URL.Path, cw.status, cw.n})
		o.mu.Unlock()
	}))
	srv.StartTLS()
	t.Cleanup(srv.Close)
	o.url = srv.URL + "/stream.m3u8"
	o.caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(o.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	return o
}

// tally is what the origin sent to user agent ua, less the swarm's own preflight fetch (the
// first 200 of a playlist: FFmpeg asks with a Range).
func (o *tlsOrigin) tally(ua string) origintest.Tally {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := origintest.NewTally()
	preflight := false
	for _, a := range o.sent[ua] {
		if !preflight && origintest.ObjectOf(a.path) == "media" && a.status == 200 {
			preflight = true
			continue
		}
		out.Add(origintest.ObjectOf(a.path), a.status, a.bytes)
	}
	return out
}

type countingWriter struct {
	http.ResponseWriter
	status int
	n      int64
}

func (w *countingWriter) WriteHeader(code int) { w.status = code; w.ResponseWriter.WriteHeader(code) }
func (w *countingWriter) Write(b []byte) (int, error) {
	n, err := w.ResponseWriter.Write(b)
	w.n += int64(n)
	return n, err
}
func (w *countingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

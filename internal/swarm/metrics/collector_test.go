package metrics

import (
	"bytes"
	"context"
	"io"
	"math"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/event"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

// feed plays a small, realistic run: 3 clients, one killed and restarted, one stall, errors.
func feed(c *Collector) {
	t0 := time.Unix(1_700_000_000, 0)
	c.now = func() time.Time { return t0.Add(7 * time.Second) }
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	req := func(client int, at0 float64, object string, status int, bytes int64, class string) event.Event {
		e := event.Event{Kind: event.Request, Client: client, Time: at(at0), Object: object, Status: status,
			Bytes: bytes, Class: class, TTFB: 10 * time.Millisecond, Elapsed: 100 * time.Millisecond}
		if object == event.ObjectSegment {
			e.Media = 2 * time.Second
		}
		return e
	}
	evs := []event.Event{
		{Kind: event.ClientStarted, Client: 0, Time: at(0)},
		{Kind: event.ClientStarted, Client: 1, Time: at(0.2)},
		{Kind: event.ClientStarted, Client: 2, Time: at(0.4)},
		req(0, 0.3, event.ObjectMedia, 206, 300, ""),
		req(0, 0.4, event.ObjectSegment, 206, 1000, ""), // first segment of client 0: 0.5 s after its start
		req(1, 1.1, event.ObjectSegment, 206, 2000, ""), // client 1: 1.0 s
		{Kind: event.Progress, Client: 0, Time: at(1), Speed: 1.0},
		{Kind: event.Progress, Client: 0, Time: at(2), Speed: 0.5},
		req(2, 3, event.ObjectSegment, 404, 150, event.ClassHTTP),
		req(2, 3.5, event.ObjectSegment, 500, 170, event.ClassHTTP),
		req(2, 3.6, event.ObjectSegment, 404, 150, event.ClassHTTP),
		req(2, 3.7, event.ObjectMedia, 0, 0, event.ClassRefused),
		req(2, 4, event.ObjectSegment, 206, 500, event.ClassTimeout),                     // a body cut short by a timeout
		{Kind: event.ClientExited, Client: 0, Time: at(5), Reason: "killed", Status: -1}, // ends its stall
		{Kind: event.ClientRestartScheduled, Client: 0, Time: at(5), Elapsed: 250 * time.Millisecond},
		{Kind: event.ClientStarted, Client: 0, Attempt: 1, Time: at(5.3)},
		{Kind: event.Progress, Client: 0, Attempt: 1, Time: at(6), Speed: 1.0},
		req(0, 5.9, event.ObjectSegment, 206, 800, ""), // restarted process: 0.7 s
		{Kind: event.ClientExited, Client: 2, Time: at(7), Reason: "weird"},
	}
	evs[4].Reused = true
	for _, e := range evs {
		c.Handle(e)
	}
}

func TestSnapshot(t *testing.T) {
	c := New("test")
	c.SetTarget(3)
	if c.Ready() {
		t.Fatal("ready before any segment")
	}
	feed(c)
	if !c.Ready() {
		t.Fatal("not ready after first segment")
	}
	s, err := c.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want int64
	}{
		{"target", int64(s.TargetClients), 3},
		{"active", int64(s.ActiveClients), 2},
		{"peak", int64(s.PeakActiveClients), 3},
		// Playback: client 0 ran dry at 2.5 s (2 s of media from 0.5 s) until its exit at 5 s;
		// client 1 has been dry since 3.2 s; client 2 never received a segment.
		{"stalled now", int64(s.StalledClients), 1},
		{"rebuffer ms", int64(s.RebufferSeconds * 1000), 2500 + 3800},
		{"bitrates", int64(len(s.Bitrates)), 2},
		{"starts", s.Starts, 4},
		{"restarts", s.Restarts, 1},
		{"restarts scheduled", s.RestartsScheduled, 1},
		{"exits killed", s.Exits["killed"], 1},
		{"exits other", s.Exits["other"], 1},
		{"media attempts", s.Attempts["media"], 2},
		{"segment attempts", s.Attempts["segment"], 7},
		{"segment bytes", s.Bytes["segment"], 4770},
		{"media bytes", s.Bytes["media"], 300},
		{"206", s.Responses["segment"]["206"], 4},
		{"404", s.Responses["segment"]["404"], 2},
		{"500", s.Responses["segment"]["500"], 1},
		{"no status", int64(len(s.Responses["media"])), 1},
		{"http errors", s.Errors["segment"]["http"], 3},
		{"timeouts", s.Errors["segment"]["timeout"], 1},
		{"refused", s.Errors["media"]["refused"], 1},
		{"reused", s.Reused, 1},
		{"stalls", s.Stalls, 2},
		{"segment ttfb samples", int64(s.Histograms[SegmentTTFB].Count), 3},
		{"playlist samples", int64(s.Histograms[PlaylistLatency].Count), 1},
		{"startup max ms", s.Maxima[Startup].Milliseconds(), 1000},
		{"segment download max ms", s.Maxima[SegmentDownload].Milliseconds(), 100},
		{"startup histogram", int64(s.Histograms[Startup].Count), 3},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s = %d, want %d", ck.name, ck.got, ck.want)
		}
	}
	if _, ok := s.Exits["clean"]; ok {
		t.Errorf("zero-valued reasons should not appear in the snapshot: %v", s.Exits)
	}
	if got := s.LastEvent.Sub(s.FirstEvent); got != 7*time.Second {
		t.Errorf("event span = %s, want 7s", got)
	}
	// Start-ups (client start → segment received) of 0.5, 1.0 and 0.7 s: one each in the
	// buckets ending at 0.5, 0.75 and 1 s.
	if h := s.Histograms[Startup]; h.Cumulative[2] != 1 || h.Cumulative[3] != 2 || h.Cumulative[4] != 3 ||
		h.Cumulative[1] != 0 || math.Abs(h.Sum-2.2) > 1e-9 {
		t.Errorf("startup histogram %+v, want one start-up each of 0.5, 0.7 and 1 s", h)
	}
	if h := s.Histograms[SegmentTTFB]; h.Count != 3 || len(h.UpperBounds) != len(latencyBuckets) || h.Cumulative[1] != 3 {
		t.Errorf("segment ttfb histogram %+v", h)
	}
}

// TestServeAndPromtool scrapes a live server over HTTP and lints the exposition with the real promtool.
func TestServeAndPromtool(t *testing.T) {
	promtool := testenv.RequireBinary(t, "promtool")
	c := New("v1.2.3")
	c.SetTarget(3)
	srv, err := Listen("127.0.0.1:0", c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	base := "http://" + srv.Addr().String()

	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("/healthz = %d, want 200", code)
	}
	if code, _ := get("/readyz"); code != 503 {
		t.Errorf("/readyz before any segment = %d, want 503", code)
	}
	feed(c)
	if code, _ := get("/readyz"); code != 200 {
		t.Errorf("/readyz after a segment = %d, want 200", code)
	}
	code, body := get("/metrics")
	if code != 200 {
		t.Fatalf("/metrics = %d", code)
	}
	for _, want := range []string{
		`hls_swarm_active_clients 2`, `hls_swarm_responses_total{object="segment",status="404"} 2`,
		`hls_swarm_errors_total{class="refused",object="media"} 1`, `hls_swarm_attempts_total{object="segment"} 7`,
		`hls_swarm_client_exits_total{reason="killed"} 1`, `hls_swarm_received_bytes_total{object="segment"} 4770`,
		`hls_swarm_segment_ttfb_seconds_count 3`, `hls_swarm_segment_download_seconds_bucket{le="0.1"} 3`,
		`hls_swarm_time_to_first_segment_seconds_count 3`, `hls_swarm_client_restart_backoff_seconds_sum 0.25`, `hls_swarm_build_info{version="v1.2.3"} 1`,
		`process_resident_memory_bytes`, `go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil || out.Len() > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out.String())
	}
}

func TestListenBusyPort(t *testing.T) {
	c := New("test")
	a, err := Listen("127.0.0.1:0", c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Shutdown(context.Background()) })
	if _, err := Listen(a.Addr().String(), c); err == nil || !strings.Contains(err.Error(), "--metrics-port") {
		t.Errorf("second listener on the same port: err = %v, want a hint naming --metrics-port", err)
	}
}

func ms(v ...int) []time.Duration {
	out := make([]time.Duration, len(v))
	for i, x := range v {
		out[i] = time.Duration(x) * time.Millisecond
	}
	return out
}

// BenchmarkHandle measures the collector's cost per event (a 50-client swarm sends ~150/s).
func BenchmarkHandle(b *testing.B) {
	c := New("bench")
	t0 := time.Now()
	evs := []event.Event{
		{Kind: event.Progress, Speed: 1},
		{Kind: event.Request, Object: event.ObjectSegment, Status: 206, Bytes: 500000, TTFB: time.Millisecond, Elapsed: 5 * time.Millisecond},
		{Kind: event.Request, Object: event.ObjectMedia, Status: 206, Bytes: 400, TTFB: time.Millisecond, Elapsed: time.Millisecond},
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		e := evs[i%len(evs)]
		e.Client, e.Time = i%50, t0
		e.Bytes += int64(i)
		c.Handle(e)
	}
}

package metrics

import (
	"bytes"
	"context"
	"io"
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
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	evs := []event.Event{
		{Kind: event.ClientStarted, Client: 0, Time: at(0)},
		{Kind: event.ClientStarted, Client: 1, Time: at(0.2)},
		{Kind: event.ClientStarted, Client: 2, Time: at(0.4)},
		{Kind: event.PlaylistRequest, Client: 0, Time: at(0.3)},
		{Kind: event.SegmentRequest, Client: 0, Time: at(0.4)},
		{Kind: event.FirstSegment, Client: 0, Time: at(0.5), Elapsed: 500 * time.Millisecond},
		{Kind: event.SegmentRequest, Client: 1, Time: at(0.6)},
		{Kind: event.FirstSegment, Client: 1, Time: at(1.2), Elapsed: time.Second},
		{Kind: event.Progress, Client: 0, Time: at(1), Bytes: 1000, Speed: 1.0},
		{Kind: event.Progress, Client: 0, Time: at(2), Bytes: 3000, Speed: 0.5},
		{Kind: event.StallStarted, Client: 0, Time: at(3)},
		{Kind: event.StallStarted, Client: 0, Time: at(3.1)}, // duplicate: counted once
		{Kind: event.HTTPError, Client: 2, Time: at(3), Status: 404},
		{Kind: event.HTTPError, Client: 2, Time: at(3.5), Status: 500},
		{Kind: event.HTTPError, Client: 2, Time: at(3.6), Status: 404},
		{Kind: event.HTTPError, Client: 2, Time: at(3.7), Status: 0},
		{Kind: event.Timeout, Client: 2, Time: at(4)},
		{Kind: event.Reconnect, Client: 2, Time: at(4.1)},
		{Kind: event.ClientExited, Client: 0, Time: at(5), Reason: "killed", Status: -1}, // ends its stall
		{Kind: event.ClientRestartScheduled, Client: 0, Time: at(5), Elapsed: 250 * time.Millisecond},
		{Kind: event.ClientStarted, Client: 0, Attempt: 1, Time: at(5.3)},
		{Kind: event.Progress, Client: 0, Attempt: 1, Time: at(6), Bytes: 500, Speed: 1.0}, // new process: from 0
		{Kind: event.FirstSegment, Client: 0, Attempt: 1, Time: at(6), Elapsed: 700 * time.Millisecond},
		{Kind: event.ClientExited, Client: 2, Time: at(7), Reason: "weird"},
	}
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
		{"stalled now", int64(s.StalledClients), 0},
		{"starts", s.Starts, 4},
		{"restarts", s.Restarts, 1},
		{"restarts scheduled", s.RestartsScheduled, 1},
		{"exits killed", s.Exits["killed"], 1},
		{"exits other", s.Exits["other"], 1},
		{"playlists", s.PlaylistRequests, 1},
		{"segments", s.SegmentRequests, 2},
		{"bytes", s.ReceivedBytes, 3500},
		{"404", s.HTTPErrors["404"], 2},
		{"500", s.HTTPErrors["500"], 1},
		{"unknown", s.HTTPErrors["unknown"], 1},
		{"timeouts", s.Timeouts, 1},
		{"reconnects", s.Reconnects, 1},
		{"stalls", s.Stalls, 1},
		{"startup samples", int64(len(s.StartupSamples)), 3},
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
		`hls_swarm_active_clients 2`, `hls_swarm_http_errors_total{status="404"} 2`,
		`hls_swarm_client_exits_total{reason="killed"} 1`, `hls_swarm_received_bytes_total 3500`,
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

// BenchmarkHandle measures the collector's cost per event (a 50-client swarm sends ~150/s).
func BenchmarkHandle(b *testing.B) {
	c := New("bench")
	t0 := time.Now()
	evs := []event.Event{
		{Kind: event.Progress, Bytes: 1000, Speed: 1},
		{Kind: event.SegmentRequest, URL: "http://127.0.0.1/s1.ts"},
		{Kind: event.PlaylistRequest, URL: "http://127.0.0.1/stream.m3u8"},
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		e := evs[i%len(evs)]
		e.Client, e.Time = i%50, t0
		e.Bytes += int64(i)
		c.Handle(e)
	}
}

package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/metrics"
)

func ms(v ...int) []time.Duration {
	out := make([]time.Duration, len(v))
	for i, x := range v {
		out[i] = time.Duration(x) * time.Millisecond
	}
	return out
}

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one sample", ms(7), 99, 7 * time.Millisecond},
		{"p50 of 1..100", hundred, 50, 50 * time.Millisecond},
		{"p90 of 1..100", hundred, 90, 90 * time.Millisecond},
		{"p95 of 1..100", hundred, 95, 95 * time.Millisecond},
		{"p99 of 1..100", hundred, 99, 99 * time.Millisecond},
		{"p100 of 1..100", hundred, 100, 100 * time.Millisecond},
		{"p50 of 4", ms(10, 20, 30, 40), 50, 20 * time.Millisecond},
		{"p51 of 4", ms(10, 20, 30, 40), 51, 30 * time.Millisecond},
		{"p95 of 20", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20), 95, 19 * time.Millisecond},
		{"tiny p", ms(10, 20), 0.001, 10 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := Percentile(tt.sorted, tt.p); got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, got, tt.want)
		}
	}
}

func snapshot() metrics.Snapshot {
	return metrics.Snapshot{
		TargetClients: 20, ActiveClients: 20, PeakActiveClients: 20, Starts: 25, Restarts: 5,
		Exits:     map[string]int64{"killed": 5},
		Attempts:  map[string]int64{"media": 300, "segment": 700},
		Bytes:     map[string]int64{"media": 456789, "segment": 123000000},
		Responses: map[string]map[string]int64{"media": {"206": 299}, "segment": {"206": 690, "404": 6, "500": 3}},
		Errors:    map[string]map[string]int64{"media": {"refused": 1}, "segment": {"http": 9, "timeout": 2}},
		Stalls:    1, RebufferSeconds: 3, WatchedSeconds: 600, Bitrates: []float64{2e6, 1e6, 3e6},
		Samples: map[string][]time.Duration{metrics.Startup: ms(900, 100, 500, 300, 700),
			metrics.SegmentTTFB: ms(5, 10, 400), metrics.SegmentDownload: ms(50, 60, 2500)},
		Histograms: map[string]metrics.Histogram{metrics.SegmentTTFB: {UpperBounds: []float64{0.1, 1}, Cumulative: []uint64{2, 3}, Count: 3, Sum: 0.415}},
	}
}

func TestNewSummary(t *testing.T) {
	th, err := ParseThresholds([]string{"error_rate<0.01", "segments>=500", "startup_p95<=900ms", "http_4xx==6", "http_5xx==3",
		"segment_p95<2s", "ttfb_p99<500ms", "bytes>1GB", "refused==1", "rebuffer_ratio<0.01", "stalls==0"})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	s := New(Run{URL: "http://127.0.0.1/x.m3u8", Version: "v", Started: t0, Ended: t0.Add(30 * time.Second)}, snapshot(), th)
	if s.Requests.Total != 1000 || s.Errors.HTTP != 9 || s.Errors.Total != 12 || s.Requests.Status["206"] != 989 || s.ReceivedBytes != 123456789 {
		t.Errorf("requests %d, http errors %d, errors %d, 206s %d, bytes %d; want 1000, 9, 12, 989, 123456789",
			s.Requests.Total, s.Errors.HTTP, s.Errors.Total, s.Requests.Status["206"], s.ReceivedBytes)
	}
	if s.Format != SummaryFormat || s.Histograms[metrics.SegmentTTFB].Count != 3 || s.Latency[metrics.SegmentTTFB].P99 != 0.4 {
		t.Errorf("format %d, histograms %+v, latency %+v", s.Format, s.Histograms, s.Latency)
	}
	if s.Errors.Rate != 0.012 {
		t.Errorf("error rate %g, want 0.012", s.Errors.Rate)
	}
	if s.Startup.Samples != 5 || s.Startup.P50 != 0.5 || s.Startup.P95 != 0.9 || s.Startup.Max != 0.9 {
		t.Errorf("startup %+v", s.Startup)
	}
	if s.DurationSeconds != 30 {
		t.Errorf("duration %g", s.DurationSeconds)
	}
	wantPass := []bool{false, true, true, true, true, false, true, false, true, true, false}
	if p := s.Playback; p.RebufferRatio != 0.005 || p.Bitrate != (Bitrate{Clients: 3, Min: 1e6, P50: 2e6, Max: 3e6}) || p.Stream != "live" {
		t.Errorf("playback %+v", p)
	}
	for i, r := range s.Thresholds {
		if r.Pass != wantPass[i] {
			t.Errorf("%s: pass=%v (actual %g)", r.Threshold, r.Pass, r.Actual)
		}
	}
	if s.Pass {
		t.Error("summary passes with a failing threshold")
	}
	var buf bytes.Buffer
	if err := s.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"target 20, peak 20", "1000 (playlists 300, segments 700", "http by status: 404 6, 500 3",
		"by class: http 9, refused 1, timeout 2", "p50 500ms", "FAIL  error_rate<0.01  (actual 1.2%)", "PASS  segments>=500  (actual 700)",
		"FAIL  segment_p95<2s  (actual 2.5s)", "PASS  ttfb_p99<500ms  (actual 400ms)", "FAIL  bytes>1GB  (actual 123.5 MB)",
		"PASS  startup_p95<=900ms  (actual 900ms)", "PASS  rebuffer_ratio<0.01  (actual 0.5%)", "FAIL  stalls==0  (actual 1)",
		"live stream; 1 stalls, 3s stalled of 10m0s watched", "p50 2.00 Mb/s", "result", "117.7 MiB (123456789 bytes)"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, buf.String())
		}
	}
}

func TestErrorRateEdges(t *testing.T) {
	if r := errorRate(0, 0); r != 0 {
		t.Errorf("no errors, no requests: %g", r)
	}
	if r := errorRate(3, 0); r != 1 {
		t.Errorf("errors without requests: %g, want 1", r)
	}
}

func TestNoStartupSampleFailsPercentileThreshold(t *testing.T) {
	th, _ := ParseThresholds([]string{"startup_p95<3s"})
	s := New(Run{}, metrics.Snapshot{}, th)
	if s.Pass || !s.Thresholds[0].Missing {
		t.Errorf("startup_p95 with no sample: %+v", s.Thresholds[0])
	}
	s = New(Run{}, metrics.Snapshot{}, nil)
	if !s.Pass || s.Thresholds == nil {
		t.Errorf("no thresholds: pass=%v thresholds=%v (want true and an empty list)", s.Pass, s.Thresholds)
	}
}

func TestWriteJSONFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "summary.json")
	if err := CheckJSONPath(path); err != nil {
		t.Fatal(err)
	}
	th, _ := ParseThresholds([]string{"segments<1"})
	s := New(Run{URL: "u"}, snapshot(), th)
	if err := s.WriteJSONFile(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var back Summary
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Requests.Segments != 700 || back.Errors.HTTPStatus["404"] != 6 || back.ReceivedBytes != 123456789 ||
		back.Histograms[metrics.SegmentTTFB].Cumulative[1] != 3 || back.Format != SummaryFormat {
		t.Errorf("round trip lost data: %+v", back)
	}
	if strings.Contains(string(b), `\u003c`) || !strings.Contains(string(b), `"threshold": "segments<1"`) {
		t.Errorf("summary JSON escapes HTML or lacks the threshold:\n%s", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	if err := CheckJSONPath(filepath.Join(dir, "missing", "s.json")); err == nil {
		t.Error("CheckJSONPath accepts a missing directory")
	}
	if err := CheckJSONPath(dir); err == nil {
		t.Error("CheckJSONPath accepts a directory")
	}
	if err := s.WriteJSONFile(filepath.Join(dir, "missing", "s.json")); err == nil {
		t.Error("WriteJSONFile into a missing directory succeeded")
	}
}

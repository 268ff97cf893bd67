package report

import (
	"bytes"
	"encoding/json"
	"math"
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

// hist builds a histogram the way client_golang fills one: an observation v counts in every
// bucket whose upper bound is ≥ v.
func hist(bounds []float64, samples []time.Duration) metrics.Histogram {
	h := metrics.Histogram{UpperBounds: bounds, Cumulative: make([]uint64, len(bounds))}
	for _, d := range samples {
		for i, ub := range bounds {
			if d.Seconds() <= ub {
				h.Cumulative[i]++
			}
		}
		h.Count++
		h.Sum += d.Seconds()
	}
	return h
}

var (
	startupBounds = []float64{0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 7.5, 10, 15, 20, 30, 60}
	latencyBounds = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30}
)

func TestQuantile(t *testing.T) {
	two := metrics.Histogram{UpperBounds: []float64{0.1, 1}, Cumulative: []uint64{2, 3}, Count: 3}
	inf := metrics.Histogram{UpperBounds: []float64{0.1}, Cumulative: []uint64{1}, Count: 2}
	gap := metrics.Histogram{UpperBounds: []float64{0.1, 0.2}, Cumulative: []uint64{0, 4}, Count: 4}
	tests := []struct {
		name string
		h    metrics.Histogram
		q    float64
		max  float64
		want float64
	}{
		{"empty", metrics.Histogram{}, 0.5, 0, 0},
		{"first bucket: from 0", two, 0.5, 0, 0.075},                // rank 1.5 of 2 in (0, 0.1]
		{"second bucket, no maximum", two, 0.99, 0, 0.1 + 0.9*0.97}, // rank 2.97: 0.97 of 1 in (0.1, 1]
		{"capped at the maximum", two, 0.99, 0.4, 0.4},
		{"+Inf bucket: the maximum", inf, 0.9, 5, 5},
		{"+Inf bucket, no maximum: highest finite bound", inf, 0.9, 0, 0.1},
		{"empty first bucket skipped", gap, 0.5, 0, 0.15},
	}
	for _, tt := range tests {
		if got := Quantile(tt.q, tt.h, tt.max); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("%s: got %g, want %g", tt.name, got, tt.want)
		}
	}
}

func snapshot() metrics.Snapshot {
	samples := map[string][]time.Duration{metrics.Startup: ms(900, 100, 500, 300, 700),
		metrics.SegmentTTFB: ms(5, 10, 400), metrics.SegmentDownload: ms(50, 60, 2500)}
	return metrics.Snapshot{
		TargetClients: 20, ActiveClients: 20, PeakActiveClients: 20, Starts: 25, Restarts: 5,
		Exits:     map[string]int64{"killed": 5},
		Attempts:  map[string]int64{"media": 300, "segment": 700},
		Bytes:     map[string]int64{"media": 456789, "segment": 123000000},
		Responses: map[string]map[string]int64{"media": {"206": 299}, "segment": {"206": 690, "404": 6, "500": 3}},
		Errors:    map[string]map[string]int64{"media": {"refused": 1}, "segment": {"http": 9, "timeout": 2}},
		Stalls:    1, RebufferSeconds: 3, WatchedSeconds: 600, Bitrates: []float64{2e6, 1e6, 3e6},
		Maxima: map[string]time.Duration{metrics.Startup: 900 * time.Millisecond, metrics.SegmentTTFB: 400 * time.Millisecond,
			metrics.SegmentDownload: 2500 * time.Millisecond},
		Histograms: map[string]metrics.Histogram{metrics.Startup: hist(startupBounds, samples[metrics.Startup]),
			metrics.SegmentTTFB:     hist(latencyBounds, samples[metrics.SegmentTTFB]),
			metrics.SegmentDownload: hist(latencyBounds, samples[metrics.SegmentDownload])},
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
	// startup 0.1 0.3 0.5 0.7 0.9 s: p50 = rank 2.5, 1.5 of the 2 in (0.25, 0.5]; p95 = rank 4.75 in
	// (0.75, 1], 0.9375 capped at the maximum 0.9
	if s.Startup.Samples != 5 || s.Startup.P50 != 0.4375 || s.Startup.P95 != 0.9 || s.Startup.Max != 0.9 {
		t.Errorf("startup %+v", s.Startup)
	}
	if s.DurationSeconds != 30 {
		t.Errorf("duration %g", s.DurationSeconds)
	}
	wantPass := []bool{false, true, true, true, true, false, true, false, true, true, false}
	if p := s.Playback; p.RebufferRatio != 0.005 || p.Bitrate.Clients != 3 || p.Bitrate.Min != 1e6 || p.Bitrate.P50 != 2e6 || p.Bitrate.Max != 3e6 || p.Stream != "live" {
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
		"by class: http 9, refused 1, timeout 2", "p50 438ms", "FAIL  error_rate<0.01  (actual 1.2%)", "PASS  segments>=500  (actual 700)",
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
	if err := CheckPath("--summary-json", path); err != nil {
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
		back.Histograms[metrics.SegmentTTFB].Cumulative[1] != 2 || back.Format != SummaryFormat {
		t.Errorf("round trip lost data: %+v", back)
	}
	if strings.Contains(string(b), `\u003c`) || !strings.Contains(string(b), `"threshold": "segments<1"`) {
		t.Errorf("summary JSON escapes HTML or lacks the threshold:\n%s", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	if err := CheckPath("--summary-json", filepath.Join(dir, "missing", "s.json")); err == nil {
		t.Error("CheckPath accepts a missing directory")
	}
	if err := CheckPath("--summary-json", dir); err == nil {
		t.Error("CheckPath accepts a directory")
	}
	if err := s.WriteJSONFile(filepath.Join(dir, "missing", "s.json")); err == nil {
		t.Error("WriteJSONFile into a missing directory succeeded")
	}
}

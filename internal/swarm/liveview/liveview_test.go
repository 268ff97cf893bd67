package liveview

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/timeseries"
)

func TestSparkline(t *testing.T) {
	tests := []struct {
		values []float64
		width  int
		want   string
	}{
		{[]float64{0, 1, 2, 4, 8}, 10, "▁▁▂▄█"},
		{[]float64{0, 0, 0}, 10, "▁▁▁"},
		{[]float64{5, 5}, 10, "██"},
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8}, 3, "▆▇█"}, // the last width values, scaled to their own maximum
		{[]float64{1, 2}, 0, ""},
	}
	for _, tt := range tests {
		if got := sparkline(tt.values, tt.width); got != tt.want {
			t.Errorf("sparkline(%v, %d) = %q, want %q", tt.values, tt.width, got, tt.want)
		}
	}
}

func record(elapsed float64, active int, final bool) timeseries.Record {
	rem := 60 - elapsed
	return timeseries.Record{ElapsedSeconds: elapsed, IntervalSeconds: 5, DurationSeconds: 60, RemainingSeconds: &rem, Final: final,
		Clients:  timeseries.Clients{Target: 20, Active: active, Stalled: 1},
		Attempts: 50, AttemptsPerSecond: 10, Bytes: 5 << 20, BytesPerSecond: 1 << 20,
		Errors: 3, ErrorsByClass: map[string]int64{"http": 2, "timeout": 1}, HTTPErrorsByStatus: map[string]int64{"404": 2},
		SegmentTTFB:     timeseries.Percentiles{Samples: 40, P50: 0.004, P95: 0.012, P99: 0.02},
		SegmentDownload: timeseries.Percentiles{Samples: 40, P50: 0.2, P95: 0.41, P99: 1.5},
		RebufferRatio:   0.025,
		Totals:          timeseries.Totals{Attempts: 500, Bytes: 50 << 20, Errors: 7, Starts: 21, Restarts: 1, Stalls: 2, RebufferRatio: 0.01},
	}
}

func update(t *testing.T, m model, msgs ...tea.Msg) model {
	t.Helper()
	for _, msg := range msgs {
		next, _ := m.Update(msg)
		m = next.(model)
	}
	return m
}

func TestRender(t *testing.T) {
	start := time.Now().Add(-12 * time.Second)
	m := newModel(Options{URL: "http://127.0.0.1:1/stream.m3u8", Start: start, Duration: time.Minute, Interval: 5 * time.Second, History: 720})
	m = update(t, m, tea.WindowSizeMsg{Width: 100, Height: 40}, tickMsg(start.Add(12*time.Second)))
	if s := ansi.Strip(m.render()); !strings.Contains(s, "waiting for the first record (every 5s)") || !strings.Contains(s, "elapsed 00:12 / 01:00   remaining 00:48") {
		t.Errorf("before any record:\n%s", s)
	}
	m = update(t, m, recordMsg(record(5, 10, false)), recordMsg(record(10, 20, false)), logMsg("level=WARN msg=x"))
	s := ansi.Strip(m.render())
	for _, w := range []string{
		"active 20 / target 20   stalled 1   starts 21   restarts 1",
		"10.0 attempts/s   500 total",
		"1.0 MiB/s (8.4 Mbit/s)   50.0 MiB total",
		"seg TTFB   p50 4ms      p95 12ms     p99 20ms     (40 segments)",
		"seg load   p50 200ms    p95 410ms    p99 1.50s    (40 segments)",
		"2.50 % this interval   1.00 % overall   2 stalls",
		"3 this interval   7 total   by class: http 2, timeout 1   by status: 404 ×2",
		"over the last 10s (one bar per 5s):",
		"active     ▄█ 20",
		"level=WARN msg=x",
		"q or Ctrl-C: stop the run",
	} {
		if !strings.Contains(s, w) {
			t.Errorf("dashboard lacks %q:\n%s", w, s)
		}
	}
	for _, l := range strings.Split(m.render(), "\n") {
		if ansi.StringWidth(l) > 100 {
			t.Errorf("line wider than the terminal (%d): %q", ansi.StringWidth(l), ansi.Strip(l))
		}
	}
	m = update(t, m, recordMsg(record(12.5, 0, true)))
	if s := ansi.Strip(m.render()); !strings.Contains(s, "run over: the summary follows") || strings.Contains(s, "level=WARN") {
		t.Errorf("final frame:\n%s", s)
	}
}

func TestQuitKeysStopTheRunOnce(t *testing.T) {
	for _, key := range []tea.KeyPressMsg{{Code: 'q', Text: "q"}, {Code: 'c', Mod: tea.ModCtrl}} {
		stops := 0
		m := newModel(Options{Stop: func() { stops++ }, History: 10})
		m = update(t, m, tea.KeyPressMsg{Code: 'x', Text: "x"})
		if stops != 0 {
			t.Fatalf("x stopped the run")
		}
		m = update(t, m, key, key)
		if stops != 1 || !m.stopping {
			t.Errorf("%s twice: %d stops, stopping %v; want 1, true", key, stops, m.stopping)
		}
		if s := ansi.Strip(m.render()); !strings.Contains(s, "stopping: clients get their grace period") {
			t.Errorf("after %s:\n%s", key, s)
		}
	}
}

func TestHistoryIsBounded(t *testing.T) {
	m := newModel(Options{History: 3})
	for i := range 10 {
		m = update(t, m, recordMsg(record(float64(i), i, false)))
	}
	if len(m.recs) != 3 || m.recs[0].Clients.Active != 7 {
		t.Errorf("kept %d records from active %d, want the last 3", len(m.recs), m.recs[0].Clients.Active)
	}
}

func TestLogsPassThroughWithoutADashboard(t *testing.T) {
	var b bytes.Buffer
	l := NewLogs(&b)
	if _, err := l.Write([]byte("a line\n")); err != nil || b.String() != "a line\n" {
		t.Errorf("wrote %q, %v", b.String(), err)
	}
}

func TestUsableNeedsTwoTerminals(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if Usable(r, w) || Usable(nil, w) || Usable(strings.NewReader(""), &bytes.Buffer{}) {
		t.Error("a pipe or a buffer taken for a terminal")
	}
}

// TestViewLifecycle runs the real program on plain buffers: records drawn, log lines held back
// while it runs and written in order when it closes, Close idempotent.
func TestViewLifecycle(t *testing.T) {
	var out testBuffer
	var logOut bytes.Buffer
	logs := NewLogs(&logOut)
	v := Start(Options{In: strings.NewReader(""), Out: &out, URL: "http://127.0.0.1:1/s.m3u8", Start: time.Now(),
		Duration: time.Minute, Interval: time.Second, Logs: logs})
	for i := range 3 {
		if _, err := logs.Write([]byte("line " + strconv.Itoa(i) + "\n")); err != nil {
			t.Fatal(err)
		}
	}
	if err := v.Write(record(1, 20, false)); err != nil {
		t.Fatal(err)
	}
	if logOut.Len() != 0 {
		t.Errorf("log lines written while the dashboard runs: %q", logOut.String())
	}
	v.Stopping()
	_ = v.Write(record(2, 0, true))
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	if logOut.String() != "line 0\nline 1\nline 2\n" {
		t.Errorf("held-back log lines: %q", logOut.String())
	}
	if _, err := logs.Write([]byte("after\n")); err != nil || !strings.HasSuffix(logOut.String(), "after\n") {
		t.Errorf("after Close the log goes straight to its writer: %q", logOut.String())
	}
	if s := ansi.Strip(out.String()); !strings.Contains(s, "run over: the summary follows") || !strings.Contains(s, "http://127.0.0.1:1/s.m3u8") {
		t.Errorf("the last frame was not drawn (err %v):\n%q", v.err, out.String())
	}
}

type testBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *testBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *testBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

package htmlreport

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/event"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/report"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/timeseries"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv/browser"
)

// sampleRun is a made-up run of 10 records (a unit-test input: the integration test in
// cmd/go-ffmpeg-hls-swarm reports a real run), with a setting and a threshold that try to break
// out of their HTML and script contexts.
func sampleRun(finished bool) timeseries.Run {
	t0 := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	h := &timeseries.Header{Version: "v-test", URL: "http://127.0.0.1:1/stream.m3u8?a=1&b=</script><script>alert(1)</script>",
		Started: t0, DurationSeconds: 20, IntervalSeconds: 2,
		Thresholds: []string{"error_rate<0.01", "ttfb_p95<250ms"},
		Settings:   []timeseries.Setting{{Name: "clients", Value: "5", From: "flag"}, {Name: "user_agent", Value: `"><img src=x onerror=alert(1)>`, From: "flag"}}}
	run := timeseries.Run{Header: h}
	var stalls int64
	for i := 1; i <= 10; i++ {
		p := timeseries.Percentiles{Samples: uint64(5 * i), P50: 0.004, P95: 0.010 + 0.001*float64(i), P99: 0.020}
		r := timeseries.Record{Time: t0.Add(time.Duration(2*i) * time.Second), ElapsedSeconds: float64(2 * i), IntervalSeconds: 2,
			Clients: timeseries.Clients{Target: 5, Active: min(5, i), Stalled: i % 3 / 2}, Attempts: int64(10 * i),
			AttemptsPerSecond: float64(5 * i), Bytes: int64(1e6 * i), BytesPerSecond: 5e5 * float64(i),
			SegmentTTFB: p, SegmentDownload: p, Final: finished && i == 10}
		if i == 4 {
			r.SegmentTTFB, r.SegmentDownload = timeseries.Percentiles{}, timeseries.Percentiles{} // a gap
		}
		if i%3 == 0 {
			r.Errors, r.ErrorsByClass = 3, map[string]int64{event.ClassHTTP: 2, event.ClassTimeout: 1}
			stalls++
		}
		if i == 9 { // a class from a hand-edited file, in the page's data
			r.ErrorsByClass["</script><script>alert(1)</script>"] = 1
		}
		r.Totals.Stalls = stalls
		r.Totals.WatchedSeconds, r.Totals.RebufferSeconds = float64(10*i), 0.1*float64(i/4)
		if i > 1 {
			r.RebufferRatio = (r.Totals.RebufferSeconds - run.Records[i-2].Totals.RebufferSeconds) / 10
		}
		run.Records = append(run.Records, r)
	}
	if finished {
		run.Summary = &report.Summary{Format: report.SummaryFormat, Version: h.Version, URL: h.URL, Started: t0,
			Ended: t0.Add(20 * time.Second), Pass: false, Thresholds: []report.Result{
				{Threshold: "error_rate<0.01", Metric: "error_rate", Actual: 0.03, Shown: "3%", Pass: false},
				{Threshold: "ttfb_p95<250ms", Metric: "ttfb_p95", Actual: 0.012, Shown: "12ms", Pass: true}}}
	}
	return run
}

func render(t *testing.T, run timeseries.Run) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, run); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// TestPage checks the page's text: verdict and thresholds with their actuals, settings, the
// library inlined without its source-map comment, the data as escaped JSON, and nothing that
// names another file or host.
func TestPage(t *testing.T) {
	html := render(t, sampleRun(true))
	for _, want := range []string{
		`<div id="verdict" class="verdict fail">FAIL</div>`,
		`<td><code>error_rate&lt;0.01</code></td><td>3%</td><td>FAIL</td>`,
		`<td><code>ttfb_p95&lt;250ms</code></td><td>12ms</td><td>PASS</td>`,
		`<td>user_agent</td><td><code>&#34;&gt;&lt;img src=x onerror=alert(1)&gt;</code></td><td>flag</td>`,
		`Chart.js v` + ChartJSVersion, `Content-Security-Policy`, `id="chart-clients"`, `id="chart-playback"`,
		`== go-ffmpeg-hls-swarm summary (v-test)`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(html, "sourceMappingURL") {
		t.Error("the inlined library still names its source map")
	}
	// Only the three inline scripts end with </script>: the URL's "</script>" is escaped as
	// text, the error class's in the data (\u003c/script\u003e).
	if n := strings.Count(html, "</script>"); n != 3 {
		t.Errorf("%d </script> in the page, want 3", n)
	}
	if !strings.Contains(html, `\u003c/script\u003e\u003cscript\u003ealert(1)`) {
		t.Error("the data's </script> is not escaped as JSON")
	}
	if m := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:|//|file:)`).FindString(html); m != "" {
		t.Errorf("the page loads something: %q", m)
	}
	var lib bytes.Buffer
	lib.WriteString(chartJS[:200])
	if !strings.Contains(html, lib.String()) {
		t.Error("the embedded Chart.js is not inlined as it is")
	}
}

// TestPageUnfinished: a run without a summary says it did not finish and lists its thresholds
// as not evaluated.
func TestPageUnfinished(t *testing.T) {
	run := sampleRun(false)
	run.Cut = true
	html := render(t, run)
	for _, want := range []string{
		`<div id="verdict" class="verdict unfinished">NO VERDICT</div>`,
		`The run did not finish: the time series ends at 20s after 10 records, with no summary and no final record`,
		`its last line was incomplete and is left out`,
		`<td><code>error_rate&lt;0.01</code></td><td>—</td><td>not evaluated</td>`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(html, `id="summary"`) {
		t.Error("an unfinished run shows a summary")
	}
	// A file of records only (before headers existed) still makes a page.
	html = render(t, timeseries.Run{Records: run.Records})
	if !strings.Contains(html, "Not recorded (a time series written before its header line existed)") {
		t.Error("no word about the missing settings")
	}
	if err := Write(&bytes.Buffer{}, timeseries.Run{}); err == nil {
		t.Error("an empty run made a page")
	}
}

// TestWriteFileAtomic: the report appears whole under its name, with no temporary file left.
func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "report.html")
	if err := WriteFile(path, sampleRun(true)); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "report.html" {
		t.Errorf("directory holds %v", entries)
	}
	b, _ := os.ReadFile(path)
	if !bytes.HasSuffix(b, []byte("</html>\n")) {
		t.Error("report not whole")
	}
	if err := WriteFile(filepath.Join(dir, "missing", "r.html"), sampleRun(true)); err == nil {
		t.Error("wrote into a missing directory")
	}
}

// TestPageInChromium opens the made-up run's page in headless Chromium: no console error, no
// request, six charts with their data drawn. The integration test does the same for a real run.
func TestPageInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium; skipped under -short")
	}
	for _, finished := range []bool{true, false} {
		path := filepath.Join(t.TempDir(), "report.html")
		if err := WriteFile(path, sampleRun(finished)); err != nil {
			t.Fatal(err)
		}
		p := browser.Open(t, path, 1280)
		p.Check(t, len(charts), "chart-errors")
		t.Logf("finished %v: %d charts, %v; screenshot %d bytes", finished, len(p.Charts), p.Charts, len(p.Screenshot))
	}
}

// longRecords are n records of 5 s, with errors, stalls and rebuffering.
func longRecords(n int) []timeseries.Record {
	var recs []timeseries.Record
	var tot timeseries.Totals
	for i := 1; i <= n; i++ {
		p := timeseries.Percentiles{Samples: 10, P50: 0.002, P95: 0.004 + 0.001*float64(i%5), P99: 0.01}
		r := timeseries.Record{ElapsedSeconds: float64(5 * i), IntervalSeconds: 5, Final: i == n,
			Clients:  timeseries.Clients{Target: 100, Active: 100 - i%3, Stalled: i % 4},
			Attempts: int64(40 + i%9), Bytes: int64(1e6 + i%11), Errors: int64(i % 3), SegmentTTFB: p, SegmentDownload: p,
			ErrorsByClass: map[string]int64{event.ClassHTTP: int64(i % 3)}}
		if i%7 == 0 {
			r.SegmentTTFB = timeseries.Percentiles{}
		}
		r.AttemptsPerSecond, r.BytesPerSecond = float64(r.Attempts)/5, float64(r.Bytes)/5
		tot.Stalls += int64(i % 2)
		tot.WatchedSeconds += 500
		tot.RebufferSeconds += 0.5 * float64(i%3)
		r.RebufferRatio = 0.5 * float64(i%3) / 500
		r.Totals = tot
		recs = append(recs, r)
	}
	return recs
}

// TestChartDataPoints: up to MaxPoints records, a point is a record's own numbers; beyond, a
// point covers several records and the sums still add up.
func TestChartDataPoints(t *testing.T) {
	recs := longRecords(MaxPoints)
	d := newChartData(recs)
	if d.PerPoint != 1 || len(d.Elapsed) != len(recs) {
		t.Fatalf("per point %d, %d points for %d records", d.PerPoint, len(d.Elapsed), len(recs))
	}
	for i, r := range recs {
		if d.MBps[i] != r.BytesPerSecond/1e6 || d.RPS[i] != r.AttemptsPerSecond || d.Stalled[i] != r.Clients.Stalled ||
			math.Abs(d.Rebuffer[i]-100*r.RebufferRatio) > 1e-9 || (r.SegmentTTFB.Samples == 0) != (d.TTFB.P95[i] == nil) ||
			(d.TTFB.P95[i] != nil && *d.TTFB.P95[i] != 1000*r.SegmentTTFB.P95) {
			t.Fatalf("point %d differs from its record", i)
		}
	}
	recs = longRecords(3*MaxPoints + 1)
	d = newChartData(recs)
	if d.PerPoint != 4 || len(d.Elapsed) != (len(recs)+3)/4 || d.Elapsed[len(d.Elapsed)-1] != recs[len(recs)-1].ElapsedSeconds {
		t.Fatalf("per point %d, %d points for %d records", d.PerPoint, len(d.Elapsed), len(recs))
	}
	var errs, stalls, recErrs int64
	for i := range d.Elapsed {
		errs += d.Errors[0].Counts[i]
		stalls += d.Stalls[i]
	}
	for _, r := range recs {
		recErrs += r.ErrorsByClass[event.ClassHTTP]
	}
	last := recs[len(recs)-1].Totals
	if errs != recErrs || stalls != last.Stalls {
		t.Errorf("points sum to %d errors and %d stalls; records %d and %d", errs, stalls, recErrs, last.Stalls)
	}
	// The first point: records 0..3 (5 s each), the largest p95 of the four, stalled the most.
	first := recs[:4]
	var b int64
	for _, r := range first {
		b += r.Bytes
	}
	if d.MBps[0] != float64(b)/20/1e6 || *d.Download.P95[0] != 1000*0.008 || d.Stalled[0] != 3 {
		t.Errorf("first point: %v MB/s, p95 %v ms, stalled %d", d.MBps[0], *d.Download.P95[0], d.Stalled[0])
	}
	if !strings.Contains(render(t, timeseries.Run{Records: recs}), "Each point covers 4 consecutive records") {
		t.Error("the page does not say a point covers several records")
	}
}

// TestLongRunInChromium: a day of 5 s records (17,280) makes a page Chromium draws without error.

func TestLongRunInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium; skipped under -short")
	}
	run := sampleRun(true)
	run.Records = longRecords(17280)
	path := filepath.Join(t.TempDir(), "report.html")
	start := time.Now()
	if err := WriteFile(path, run); err != nil {
		t.Fatal(err)
	}
	written := time.Since(start)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	p := browser.Open(t, path, 1280)
	t.Logf("%d records: written in %s, %d bytes; opened and drawn in %s", len(run.Records), written.Round(time.Millisecond),
		fi.Size(), time.Since(start).Round(time.Millisecond))
	p.Check(t, len(charts))
	for _, c := range p.Charts {
		if n := len(newChartData(run.Records).Elapsed); c.ID == "chart-clients" && (c.Points != 3*n || n > MaxPoints) {
			t.Errorf("clients chart: %d points for %d records (%d per chart line)", c.Points, len(run.Records), n)
		}
	}
}

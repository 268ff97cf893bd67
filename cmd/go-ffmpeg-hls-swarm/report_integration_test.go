package main

// Integration tests of --report and the report subcommand: the real binary against a real live
// origin (through the fault proxy, so the errors chart has errors), the report opened in Debian's
// headless Chromium. Skipped under -short.
//
// HLS_SWARM_REPORT_PNG=docs/images/report.png also saves the screenshot of the finished run's
// report (how the picture in the README is made).

import (
	"bytes"
	"encoding/json"
	"html"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/origin/origintest"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/timeseries"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv/browser"
)

// reportCharts is the number of charts a report draws (htmlreport: clients, throughput, TTFB,
// download, errors, playback).
const reportCharts = 6

func TestReportIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real FFmpeg clients against a real origin and opens Chromium; skipped under -short")
	}
	testenv.RequireBinary(t, "chromium") // before a minute of swarm run
	bin := swarmBuildBinary(t)
	o := origintest.Start(t, "default", origintest.Small())
	t.Run("a finished run: --report, and report rebuilds it from the time series", func(t *testing.T) { reportFinished(t, bin, o.BaseURL) })
	t.Run("a SIGKILLed run: report of what the time series has", func(t *testing.T) { reportKilled(t, bin, o.PlaylistURL) })
	t.Run("bad input: one line, exit 2, nothing written", func(t *testing.T) { reportBadInput(t, bin) })
}

// runReport runs `bin report in -o out` and returns its exit code, stdout and stderr.
func runReport(t *testing.T, bin string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"report"}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
}

func reportFinished(t *testing.T, bin, base string) {
	p := newFaultProxy(t, base)
	p.setFail(func(n int) int { // one segment in 8 missing, one in 16 a server error
		switch n % 16 {
		case 5, 13:
			return http.StatusNotFound
		case 9:
			return http.StatusInternalServerError
		}
		return 0
	})
	dir := t.TempDir()
	page, series, summary := filepath.Join(dir, "report.html"), filepath.Join(dir, "run.ndjson"), filepath.Join(dir, "summary.json")
	s := startSwarm(t, bin, "--clients", "6", "--ramp-rate", "1", "--duration", "30s", "--progress-interval", "2s",
		"--threshold", "error_rate<0.5", "--threshold", "ttfb_p95<2s", "--threshold", "startup_p95<30s",
		"--report", page, "--timeseries", series, "--summary-json", summary, "http://"+p.addr+"/stream.m3u8")
	code := s.wait(180 * time.Second)
	sum := readSummary(t, summary)
	if want := map[bool]int{true: 0, false: 1}[sum.Pass]; code != want {
		t.Fatalf("exit %d, summary pass %v", code, sum.Pass)
	}
	recs, partial := parseNDJSON(t, series)
	if partial != "" || len(recs) < 10 {
		t.Fatalf("%d records, trailing %q", len(recs), partial)
	}
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	verdict := map[bool]string{true: "PASS", false: "FAIL"}[sum.Pass]
	if !strings.Contains(text, `<div id="verdict" class="verdict `+strings.ToLower(verdict)+`">`+verdict+`</div>`) {
		t.Errorf("the report's verdict is not %s", verdict)
	}
	for _, r := range sum.Thresholds {
		row := "<td><code>" + html.EscapeString(r.Threshold) + "</code></td><td>" + r.Shown + "</td>"
		if !strings.Contains(text, row) {
			t.Errorf("the report lacks the threshold row %q", row)
		}
	}
	for _, setting := range []string{"<td>clients</td><td><code>6</code></td><td>flag</td>", "<td>ramp_rate</td><td><code>1</code></td><td>flag</td>"} {
		if !strings.Contains(text, setting) {
			t.Errorf("the report lacks the setting %q", setting)
		}
	}
	if len(sum.Errors.Class) == 0 {
		t.Errorf("the fault proxy caused no error: %+v", sum.Errors)
	}

	// Opened in Chromium: no console error, no request, six charts with data drawn; the
	// clients chart has target, active and stalled for every record.
	pg := browser.Open(t, page, 1280)
	pg.Check(t, reportCharts)
	for _, c := range pg.Charts {
		if c.ID == "chart-clients" && c.Points != 3*len(recs) {
			t.Errorf("clients chart: %d points for %d records", c.Points, len(recs))
		}
	}
	t.Logf("%d records, verdict %s, errors %v; charts %+v; screenshot %d bytes", len(recs), verdict, sum.Errors.Class, pg.Charts, len(pg.Screenshot))
	if out := os.Getenv("HLS_SWARM_REPORT_PNG"); out != "" {
		if err := os.WriteFile(out, pg.Screenshot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot saved to %s", out)
	}

	// The report subcommand rebuilds the very same page from the time series.
	rebuilt := filepath.Join(dir, "rebuilt.html")
	rc, stdout, stderr := runReport(t, bin, series, "-o", rebuilt)
	if rc != 0 {
		t.Fatalf("report: exit %d: %s", rc, stderr)
	}
	t.Logf("report: %s", strings.TrimSpace(stdout))
	b2, err := os.ReadFile(rebuilt)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, b2) {
		t.Errorf("the rebuilt report differs from the run's (%d and %d bytes)", len(b), len(b2))
	}
}

func reportKilled(t *testing.T, bin, playlist string) {
	const clients = 3
	dir := t.TempDir()
	series, page := filepath.Join(dir, "run.ndjson"), filepath.Join(dir, "report.html")
	s := startSwarm(t, bin, "--clients", strconv.Itoa(clients), "--ramp-rate", "20", "--duration", "0",
		"--progress-interval", "1s", "--timeseries", series, "--threshold", "error_rate<0.01", playlist)
	testenv.WaitFor(t, 60*time.Second, "4 records, the last with attempts, in the time series", func() bool {
		b, _ := os.ReadFile(series)
		lines := strings.Split(string(b), "\n")
		var r timeseries.Record
		return len(lines) > 5 && json.Unmarshal([]byte(lines[len(lines)-2]), &r) == nil && r.Totals.Attempts > 0
	})
	killSwarm(t, s, clients)
	run, err := timeseries.ReadFile(series)
	if err != nil {
		t.Fatal(err)
	}
	if run.Header == nil || run.Finished() || len(run.Records) < 4 {
		t.Fatalf("killed run's time series: header %v, finished %v, %d records", run.Header != nil, run.Finished(), len(run.Records))
	}
	// Cut the last line in half, as a kill in the middle of a write would.
	b, _ := os.ReadFile(series)
	last := bytes.LastIndexByte(b[:len(b)-1], '\n')
	if err := os.WriteFile(series, b[:last+1+(len(b)-last)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	rc, stdout, stderr := runReport(t, bin, series, "-o", page)
	if rc != 0 || !strings.Contains(stdout, "the run did not finish") {
		t.Fatalf("report: exit %d: %s%s", rc, stdout, stderr)
	}
	text, _ := os.ReadFile(page)
	for _, want := range []string{"NO VERDICT", "The run did not finish", "its last line was incomplete", "not evaluated"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("the killed run's report lacks %q", want)
		}
	}
	pg := browser.Open(t, page, 1280)
	pg.Check(t, reportCharts, "chart-errors", "chart-playback") // no error and no stall in this run
	t.Logf("killed run: %s", strings.TrimSpace(stdout))
}

func reportBadInput(t *testing.T, bin string) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.html")
	summaryJSON := filepath.Join(dir, "summary.json")
	csvFile := filepath.Join(dir, "run.csv")
	for path, body := range map[string]string{summaryJSON: `{"format":3,"url":"x"}` + "\n", csvFile: "time,elapsed_seconds\n"} {
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{filepath.Join(dir, "missing.ndjson"), "-o", out}, "no such file"},
		{[]string{summaryJSON, "-o", out}, "line 1: neither a header, a record nor a summary"},
		{[]string{csvFile, "-o", out}, "CSV time series"},
		{[]string{summaryJSON}, "-o FILE.html"},
		{[]string{summaryJSON, "-o", filepath.Join(dir, "no", "out.html")}, "does not exist"},
	} {
		rc, stdout, stderr := runReport(t, bin, tc.args...)
		if rc != 2 || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("report %q: exit %d, stdout %q, stderr %q; want exit 2 and one line with %q", tc.args, rc, stdout, stderr, tc.want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("bad input left files: %v", entries)
	}
	// A run's --report path is checked before the preflight (the URL is never asked).
	for _, path := range []string{filepath.Join(dir, "no", "r.html"), dir} {
		s := startSwarm(t, bin, "--duration", "5s", "--report", path, "http://127.0.0.1:1/stream.m3u8")
		if code := s.wait(30 * time.Second); code != 2 || !strings.Contains(s.stderr.String(), "--report "+path) ||
			strings.Count(s.stderr.String(), "\n") != 1 {
			t.Errorf("--report %s: exit %d, stderr %q", path, code, s.stderr.String())
		}
	}
}

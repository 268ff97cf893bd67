package main

// Integration tests of --timeseries and the status line: the real binary against a real live
// origin, stderr to a pipe (not a terminal). Skipped under -short.

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/origin/origintest"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/report"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/timeseries"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

func TestTimeseriesIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real FFmpeg clients against a real origin for ~1 minute; skipped under -short")
	}
	bin := swarmBuildBinary(t)
	o := origintest.Start(t, "default", origintest.Small())
	t.Run("records add up to the summary; a status line each interval", func(t *testing.T) { seriesAddsUp(t, bin, o.PlaylistURL) })
	t.Run("CSV with --quiet", func(t *testing.T) { seriesCSVQuiet(t, bin, o.PlaylistURL) })
	t.Run("SIGKILL keeps every complete record", func(t *testing.T) { seriesSIGKILL(t, bin, o.PlaylistURL) })
	t.Run("errors by class and status add up", func(t *testing.T) { seriesErrors(t, bin, o.BaseURL) })
}

var statusLine = regexp.MustCompile(`(?m)^\[(\d\d):(\d\d)(/\d\d:\d\d)?\] clients (\d+)/(\d+) \(stalled \d+\)  ([0-9.]+) req/s  ([0-9.]+) MB/s  seg ttfb p95 \S+  dl p95 \S+  errors \d+.*$`)

func readSummary(t *testing.T, path string) report.Summary {
	t.Helper()
	s, err := report.ReadSummary(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// parseNDJSON parses every complete record line of a time-series file, strictly; the header
// line (first) and the summary line (last) are left to timeseries.Read. A last line without
// its newline (cut by a kill) is returned apart.
func parseNDJSON(t *testing.T, path string) (recs []timeseries.Record, partial string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	partial = lines[len(lines)-1]
	for i, l := range lines[:len(lines)-1] {
		if (i == 0 && strings.HasPrefix(l, `{"header":`)) || (i == len(lines)-2 && strings.HasPrefix(l, `{"summary":`)) {
			continue
		}
		var r timeseries.Record
		dec := json.NewDecoder(strings.NewReader(l))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("%s line %d %q: %v", path, i+1, l, err)
		}
		recs = append(recs, r)
	}
	return recs, partial
}

func checkAddsUp(t *testing.T, att, byt, errs int64, last timeseries.Totals, sum report.Summary) {
	t.Helper()
	t.Logf("intervals sum to attempts %d, bytes %d, errors %d; summary: %d, %d, %d; last totals %+v",
		att, byt, errs, sum.Requests.Total, sum.ReceivedBytes, sum.Errors.Total, last)
	if att != sum.Requests.Total || byt != sum.ReceivedBytes || errs != sum.Errors.Total {
		t.Errorf("interval sums attempts %d bytes %d errors %d != summary %d %d %d",
			att, byt, errs, sum.Requests.Total, sum.ReceivedBytes, sum.Errors.Total)
	}
	if last.Attempts != sum.Requests.Total || last.Bytes != sum.ReceivedBytes || last.Errors != sum.Errors.Total ||
		last.Starts != sum.Starts || last.Restarts != sum.Restarts || last.Stalls != sum.Playback.Stalls {
		t.Errorf("last running totals %+v != summary (attempts %d bytes %d errors %d starts %d restarts %d stalls %d)",
			last, sum.Requests.Total, sum.ReceivedBytes, sum.Errors.Total, sum.Starts, sum.Restarts, sum.Playback.Stalls)
	}
	if sum.Requests.Total == 0 || sum.ReceivedBytes == 0 {
		t.Errorf("the run measured nothing: %+v", sum.Requests)
	}
}

func seriesAddsUp(t *testing.T, bin, playlist string) {
	// A 60 s run at the default 5 s interval (issue 9: "the time series of a 60 s run").
	const clients, interval, duration = 5, 5, 60
	dir := t.TempDir()
	series, summary := filepath.Join(dir, "run.ndjson"), filepath.Join(dir, "summary.json")
	s := startSwarm(t, bin, "--clients", strconv.Itoa(clients), "--ramp-rate", "20", "--duration", strconv.Itoa(duration)+"s",
		"--progress-interval", strconv.Itoa(interval)+"s", "--timeseries", series, "--summary-json", summary, playlist)
	if code := s.wait(180 * time.Second); code != 0 {
		t.Fatalf("exit %d", code)
	}
	recs, partial := parseNDJSON(t, series)
	if partial != "" || len(recs) < 2 {
		t.Fatalf("%d records, trailing %q", len(recs), partial)
	}
	// One record per interval: the ticks at 5, 10, … 55 s, the one at 60 s if it beat the end, and the final one.
	if n := len(recs); n < duration/interval || n > duration/interval+1 {
		t.Errorf("%d records for a %d s run at %d s intervals, want %d or %d", n, duration, interval, duration/interval, duration/interval+1)
	}
	sum := readSummary(t, summary)
	var att, byt, errs int64
	moving := 0
	for i, r := range recs {
		att, byt, errs = att+r.Attempts, byt+r.Bytes, errs+r.Errors
		if r.Final != (i == len(recs)-1) {
			t.Errorf("record %d: final %v", i, r.Final)
		}
		// Records are on the start + k×interval grid, never early (a busy machine may skip a tick).
		if !r.Final && r.ElapsedSeconds < float64(interval*(i+1)) {
			t.Errorf("record %d at %.3fs: before its tick at %ds", i, r.ElapsedSeconds, interval*(i+1))
		}
		if r.Clients.Target != clients || r.RemainingSeconds == nil {
			t.Errorf("record %d: clients %+v remaining %v", i, r.Clients, r.RemainingSeconds)
		}
		if r.AttemptsPerSecond > 0 && r.BytesPerSecond > 0 && r.SegmentDownload.Samples > 0 {
			moving++
		}
	}
	t.Logf("%d records over %.1fs; %d with attempts, bytes and segments; e.g. %s", len(recs), sum.DurationSeconds, moving,
		timeseries.StatusLine(recs[len(recs)/2]))
	if moving < len(recs)/2 {
		t.Errorf("only %d of %d records saw throughput", moving, len(recs))
	}
	checkAddsUp(t, att, byt, errs, recs[len(recs)-1].Totals, sum)
	// The header line holds the settings, the summary line the summary --summary-json has.
	run, err := timeseries.ReadFile(series)
	if err != nil {
		t.Fatal(err)
	}
	if run.Header == nil || run.Header.URL != playlist || run.Header.IntervalSeconds != interval || len(run.Header.Settings) < 20 {
		t.Errorf("header %+v", run.Header)
	}
	if !run.Finished() || run.Summary.Requests.Total != sum.Requests.Total || run.Summary.ReceivedBytes != sum.ReceivedBytes ||
		!run.Summary.Ended.Equal(sum.Ended) || len(run.Records) != len(recs) {
		t.Errorf("summary line %+v != --summary-json %+v", run.Summary, sum)
	}

	// stderr is a pipe: one status line per record, in order, the same numbers.
	lines := statusLine.FindAllStringSubmatch(s.stderr.String(), -1)
	if len(lines) != len(recs) {
		t.Fatalf("%d status lines for %d records:\n%s", len(lines), len(recs), swarmTail(s.stderr.String(), 30))
	}
	active := false
	for i, m := range lines {
		if m[0] != timeseries.StatusLine(recs[i]) {
			t.Errorf("status line %d %q, record says %q", i, m[0], timeseries.StatusLine(recs[i]))
		}
		if m[3] != "/01:00" {
			t.Errorf("status line %q: want the run's length 01:00", m[0])
		}
		if rps, _ := strconv.ParseFloat(m[6], 64); rps > 0 && m[4] == strconv.Itoa(clients) {
			active = true
		}
	}
	if !active {
		t.Errorf("no status line shows %d active clients and a non-zero req/s", clients)
	}
}

func seriesCSVQuiet(t *testing.T, bin, playlist string) {
	dir := t.TempDir()
	series, summary := filepath.Join(dir, "run.csv"), filepath.Join(dir, "summary.json")
	s := startSwarm(t, bin, "--clients", "3", "--ramp-rate", "20", "--duration", "8s", "--quiet",
		"--progress-interval", "1s", "--timeseries", series, "--summary-json", summary, playlist)
	if code := s.wait(120 * time.Second); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if m := statusLine.FindString(s.stderr.String()); m != "" {
		t.Errorf("--quiet printed a status line: %q", m)
	}
	f, err := os.ReadFile(series)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(f)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 3 || rows[0][0] != "time" {
		t.Fatalf("csv: %d rows, header %q", len(rows), rows[0])
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	num := func(row []string, name string) int64 {
		n, err := strconv.ParseInt(row[col[name]], 10, 64)
		if err != nil {
			t.Fatalf("column %s: %v", name, err)
		}
		return n
	}
	var att, byt, errs int64
	for _, row := range rows[1:] {
		att, byt, errs = att+num(row, "attempts"), byt+num(row, "bytes"), errs+num(row, "errors")
	}
	last := rows[len(rows)-1]
	if last[col["final"]] != "true" {
		t.Errorf("last row not final: %q", last)
	}
	t.Logf("csv: %d records", len(rows)-1)
	checkAddsUp(t, att, byt, errs, timeseries.Totals{Attempts: num(last, "total_attempts"), Bytes: num(last, "total_bytes"),
		Errors: num(last, "total_errors"), Starts: num(last, "total_starts"), Restarts: num(last, "total_restarts"),
		Stalls: num(last, "total_stalls")}, readSummary(t, summary))
}

func seriesSIGKILL(t *testing.T, bin, playlist string) {
	const clients = 3
	series := filepath.Join(t.TempDir(), "run.ndjson")
	s := startSwarm(t, bin, "--clients", strconv.Itoa(clients), "--ramp-rate", "20", "--duration", "0",
		"--progress-interval", "1s", "--timeseries", series, playlist)
	testenv.WaitFor(t, 60*time.Second, "3 records, the last with attempts, in the time series", func() bool {
		b, _ := os.ReadFile(series)
		lines := strings.Split(string(b), "\n")
		var r timeseries.Record
		// the header line, 3 records, "" after the last newline
		return len(lines) > 4 && json.Unmarshal([]byte(lines[len(lines)-2]), &r) == nil && r.Totals.Attempts > 0
	})
	killSwarm(t, s, clients)
	recs, partial := parseNDJSON(t, series)
	t.Logf("after SIGKILL: %d complete records, trailing partial line %d bytes; last totals %+v",
		len(recs), len(partial), recs[len(recs)-1].Totals)
	if len(recs) < 3 {
		t.Fatalf("%d records", len(recs))
	}
	var att int64
	for i, r := range recs {
		att += r.Attempts
		if r.Final || r.RemainingSeconds != nil {
			t.Errorf("record %d of an unbounded, killed run: final %v remaining %v", i, r.Final, r.RemainingSeconds)
		}
		if r.Totals.Attempts != att {
			t.Errorf("record %d: running total %d, intervals so far %d", i, r.Totals.Attempts, att)
		}
	}
	if att == 0 {
		t.Error("no attempt recorded before the kill")
	}
}

func seriesErrors(t *testing.T, bin, base string) {
	p := newFaultProxy(t, base)
	p.fail404And500(4)
	dir := t.TempDir()
	series, summary := filepath.Join(dir, "run.ndjson"), filepath.Join(dir, "summary.json")
	s := startSwarm(t, bin, "--clients", "3", "--ramp-rate", "20", "--duration", "12s", "--progress-interval", "2s",
		"--timeseries", series, "--summary-json", summary, "http://"+p.addr+"/stream.m3u8")
	if code := s.wait(120 * time.Second); code != 0 {
		t.Fatalf("exit %d", code)
	}
	recs, partial := parseNDJSON(t, series)
	if partial != "" || len(recs) < 2 {
		t.Fatalf("%d records, trailing %q", len(recs), partial)
	}
	sum := readSummary(t, summary)
	var att, byt, errs int64
	byClass, byStatus := map[string]int64{}, map[string]int64{}
	for _, r := range recs {
		att, byt, errs = att+r.Attempts, byt+r.Bytes, errs+r.Errors
		for k, v := range r.ErrorsByClass {
			byClass[k] += v
		}
		for k, v := range r.HTTPErrorsByStatus {
			byStatus[k] += v
		}
	}
	checkAddsUp(t, att, byt, errs, recs[len(recs)-1].Totals, sum)
	t.Logf("errors by class %v, http errors by status %v; summary %v, %v", byClass, byStatus, sum.Errors.Class, sum.Errors.HTTPStatus)
	if !maps.Equal(byClass, sum.Errors.Class) || !maps.Equal(byStatus, sum.Errors.HTTPStatus) {
		t.Errorf("records' errors by class %v and by status %v != summary's %v and %v", byClass, byStatus, sum.Errors.Class, sum.Errors.HTTPStatus)
	}
	if byStatus["404"] == 0 || byStatus["500"] == 0 {
		t.Errorf("the fault proxy's 404 and 500 were not seen: %v", byStatus)
	}
	if !regexp.MustCompile(`(?m)^\[.*errors [1-9]\d* \(http [1-9]`).MatchString(s.stderr.String()) {
		t.Errorf("no status line names the http errors:\n%s", swarmTail(s.stderr.String(), 10))
	}
}

package timeseries

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/report"
)

// TestHeaderRecordsSummaryRoundTrip writes a header, records and a summary, reads them back,
// and cuts the file at every byte to check that a cut file still reads up to its last complete
// line.
func TestHeaderRecordsSummaryRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.ndjson")
	f, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	h := Header{Version: "v-test", URL: "http://127.0.0.1:1/stream.m3u8", Started: t0, DurationSeconds: 6,
		IntervalSeconds: 2, Thresholds: []string{"error_rate<0.01", "ttfb_p95<250ms"},
		Settings: []Setting{{Name: "clients", Value: "3", From: "flag"}, {Name: "variant", Value: "all", From: "profile default"}}}
	if err := f.WriteHeader(h); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		r := Record{Time: t0.Add(time.Duration(i) * 2 * time.Second), ElapsedSeconds: float64(2 * i), Attempts: int64(i),
			Totals: Totals{Attempts: int64(i * (i + 1) / 2)}, Final: i == 3}
		if err := f.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	sum := report.Summary{Format: report.SummaryFormat, URL: h.URL, Pass: true,
		Thresholds: []report.Result{{Threshold: "error_rate<0.01", Metric: "error_rate", Shown: "0%", Pass: true}}}
	if err := f.WriteSummary(sum); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"error_rate<0.01"`) {
		t.Errorf("thresholds HTML-escaped in the file:\n%s", b)
	}
	run, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if run.Header == nil || run.Header.Format != FileFormat || run.Header.URL != h.URL || len(run.Header.Settings) != 2 ||
		run.Header.Thresholds[1] != "ttfb_p95<250ms" || !run.Header.Started.Equal(t0) {
		t.Errorf("header %+v", run.Header)
	}
	if len(run.Records) != 3 || !run.Records[2].Final || run.Records[2].Totals.Attempts != 6 {
		t.Errorf("records %+v", run.Records)
	}
	if !run.Finished() || run.Summary.Thresholds[0].Shown != "0%" || run.Cut {
		t.Errorf("summary %+v cut %v", run.Summary, run.Cut)
	}

	// Cut at every byte: never an error once the header line is whole; the records and summary
	// are those whose lines are complete (a line complete but for its newline counts).
	lines := strings.SplitAfter(string(b), "\n")
	lines = lines[:len(lines)-1] // the 5 lines, each with its newline
	for n := len(lines[0]); n < len(b); n++ {
		run, err := Read(strings.NewReader(string(b[:n])))
		if err != nil {
			t.Fatalf("cut at %d: %v", n, err)
		}
		whole, end, boundary := 0, 0, false
		for _, l := range lines {
			end += len(l)
			if end <= n || end-1 == n {
				whole++
			}
			boundary = boundary || end == n || end-1 == n
		}
		wantRecs := min(max(whole-1, 0), 3)
		if len(run.Records) != wantRecs || run.Finished() != (whole == 5) || run.Header == nil {
			t.Fatalf("cut at %d of %d (%d whole lines): %d records, finished %v cut %v; tail %q", n, len(b), whole, len(run.Records), run.Finished(), run.Cut, b[n-20:n])
		}
		if run.Cut == boundary {
			t.Fatalf("cut at %d: Cut %v", n, run.Cut)
		}
	}
}

// TestReadOlderAndBad reads a file of records only (written before headers existed) and refuses
// what is not a time series, naming the line.
func TestReadOlderAndBad(t *testing.T) {
	old := `{"time":"2026-12-07T00:00:02Z","elapsed_seconds":2,"attempts":4,"totals":{"attempts":4}}` + "\n" +
		`{"time":"2026-12-07T00:00:04Z","elapsed_seconds":4,"attempts":1,"final":true,"totals":{"attempts":5}}` + "\n"
	run, err := Read(strings.NewReader(old))
	if err != nil || run.Header != nil || len(run.Records) != 2 || run.Finished() || run.Records[1].Totals.Attempts != 5 {
		t.Fatalf("older file: %+v, %v", run, err)
	}
	for name, tc := range map[string]struct{ in, want string }{
		"empty":           {"", "empty"},
		"not json":        {"hello\n", "line 1: not a JSON object"},
		"summary json":    {`{"format":3,"url":"x"}` + "\n", "line 1: neither a header, a record nor a summary"},
		"late header":     {old + `{"header":{"format":1}}` + "\n", "line 3: a header after the first line"},
		"record after":    {`{"summary":{"format":3}}` + "\n" + old, "line 2: a record after the summary"},
		"newer":           {`{"header":{"format":99}}` + "\n", "line 1: header format 99"},
		"only a cut line": {`{"time":"2026-12-`, "no complete line"},
	} {
		_, err := Read(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", name, err, tc.want)
		}
	}
	csvPath := filepath.Join(t.TempDir(), "run.csv")
	if err := os.WriteFile(csvPath, []byte("time\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(csvPath); err == nil || !strings.Contains(err.Error(), "CSV") {
		t.Errorf("CSV: %v", err)
	}
}

// TestCSVHasNoHeaderOrSummaryLines: a CSV time series stays one header row and records.
func TestCSVHasNoHeaderOrSummaryLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.csv")
	f, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.WriteHeader(Header{URL: "u"}); err != nil {
		t.Fatal(err)
	}
	if err := f.Write(Record{Final: true}); err != nil {
		t.Fatal(err)
	}
	if err := f.WriteSummary(report.Summary{}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	b, _ := os.ReadFile(path)
	if n := strings.Count(string(b), "\n"); n != 2 || !strings.HasPrefix(string(b), "time,") {
		t.Errorf("csv has %d lines:\n%s", n, b)
	}
}

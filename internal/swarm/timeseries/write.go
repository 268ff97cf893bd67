package timeseries

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/event"
)

// Output receives each record as it is made.
type Output interface {
	Write(Record) error
}

// OutputFunc adapts a function to an Output.
type OutputFunc func(Record) error

// Write calls f(r).
func (f OutputFunc) Write(r Record) error { return f(r) }

// File is a time-series file: NDJSON (one record a line), or CSV with one header line when its
// name ends in .csv. Each record reaches the file with one write as soon as it is made, so a
// run killed at any moment leaves every complete record (only the last line may be partial).
type File struct {
	f   *os.File
	csv *csv.Writer
}

// IsCSV reports whether path is written as CSV (its name ends in .csv, any case).
func IsCSV(path string) bool { return strings.EqualFold(filepath.Ext(path), ".csv") }

// Create creates (or truncates) the time-series file at path.
func Create(path string) (*File, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--timeseries %s: %w", path, err)
	}
	t := &File{f: f}
	if IsCSV(path) {
		t.csv = csv.NewWriter(f)
		if err := t.csv.Write(csvHeader()); err != nil {
			f.Close()
			return nil, err
		}
		t.csv.Flush()
		if err := t.csv.Error(); err != nil {
			f.Close()
			return nil, fmt.Errorf("--timeseries %s: %w", path, err)
		}
	}
	return t, nil
}

// Write appends one record.
func (t *File) Write(r Record) error {
	if t.csv != nil {
		if err := t.csv.Write(csvRow(r)); err != nil {
			return err
		}
		t.csv.Flush()
		return t.csv.Error()
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = t.f.Write(append(b, '\n'))
	return err
}

// Close syncs and closes the file.
func (t *File) Close() error {
	err := t.f.Sync()
	if cerr := t.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// column is one CSV column: its header and its value in a record.
type column struct {
	name  string
	value func(Record) string
}

func f64(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
func i64(v int64) string   { return strconv.FormatInt(v, 10) }

// columns are the CSV columns, in order: the record's fields, flattened. Errors get one column
// per class (event.Classes); HTTP errors one column "STATUS=N;STATUS=N".
func columns() []column {
	cols := []column{
		{"time", func(r Record) string { return r.Time.Format(time.RFC3339Nano) }},
		{"elapsed_seconds", func(r Record) string { return f64(r.ElapsedSeconds) }},
		{"interval_seconds", func(r Record) string { return f64(r.IntervalSeconds) }},
		{"duration_seconds", func(r Record) string { return f64(r.DurationSeconds) }},
		{"remaining_seconds", func(r Record) string {
			if r.RemainingSeconds == nil {
				return ""
			}
			return f64(*r.RemainingSeconds)
		}},
		{"final", func(r Record) string { return strconv.FormatBool(r.Final) }},
		{"clients_target", func(r Record) string { return strconv.Itoa(r.Clients.Target) }},
		{"clients_active", func(r Record) string { return strconv.Itoa(r.Clients.Active) }},
		{"clients_stalled", func(r Record) string { return strconv.Itoa(r.Clients.Stalled) }},
		{"attempts", func(r Record) string { return i64(r.Attempts) }},
		{"attempts_per_second", func(r Record) string { return f64(r.AttemptsPerSecond) }},
		{"bytes", func(r Record) string { return i64(r.Bytes) }},
		{"bytes_per_second", func(r Record) string { return f64(r.BytesPerSecond) }},
		{"errors", func(r Record) string { return i64(r.Errors) }},
	}
	for _, c := range event.Classes {
		cols = append(cols, column{"errors_" + c, func(r Record) string { return i64(r.ErrorsByClass[c]) }})
	}
	cols = append(cols, column{"http_errors_by_status", func(r Record) string {
		parts := []string{}
		for _, st := range slices.Sorted(maps.Keys(r.HTTPErrorsByStatus)) {
			parts = append(parts, st+"="+i64(r.HTTPErrorsByStatus[st]))
		}
		return strings.Join(parts, ";")
	}})
	for _, l := range []struct {
		name string
		get  func(Record) Percentiles
	}{{"segment_ttfb", func(r Record) Percentiles { return r.SegmentTTFB }},
		{"segment_download", func(r Record) Percentiles { return r.SegmentDownload }}} {
		cols = append(cols,
			column{l.name + "_samples", func(r Record) string { return strconv.FormatUint(l.get(r).Samples, 10) }},
			column{l.name + "_p50_seconds", func(r Record) string { return f64(l.get(r).P50) }},
			column{l.name + "_p95_seconds", func(r Record) string { return f64(l.get(r).P95) }},
			column{l.name + "_p99_seconds", func(r Record) string { return f64(l.get(r).P99) }})
	}
	return append(cols,
		column{"rebuffer_ratio", func(r Record) string { return f64(r.RebufferRatio) }},
		column{"total_attempts", func(r Record) string { return i64(r.Totals.Attempts) }},
		column{"total_bytes", func(r Record) string { return i64(r.Totals.Bytes) }},
		column{"total_errors", func(r Record) string { return i64(r.Totals.Errors) }},
		column{"total_starts", func(r Record) string { return i64(r.Totals.Starts) }},
		column{"total_restarts", func(r Record) string { return i64(r.Totals.Restarts) }},
		column{"total_stalls", func(r Record) string { return i64(r.Totals.Stalls) }},
		column{"total_rebuffer_seconds", func(r Record) string { return f64(r.Totals.RebufferSeconds) }},
		column{"total_watched_seconds", func(r Record) string { return f64(r.Totals.WatchedSeconds) }},
		column{"total_rebuffer_ratio", func(r Record) string { return f64(r.Totals.RebufferRatio) }})
}

var csvColumns = columns()

func csvHeader() []string {
	out := make([]string, len(csvColumns))
	for i, c := range csvColumns {
		out[i] = c.name
	}
	return out
}

func csvRow(r Record) []string {
	out := make([]string, len(csvColumns))
	for i, c := range csvColumns {
		out[i] = c.value(r)
	}
	return out
}

// StatusLine is the record as one compact line, e.g.
// "[00:12/00:30] clients 20/20 (stalled 0)  3.4 req/s  7.1 MB/s  seg ttfb p95 12ms  dl p95 0.41s  errors 0".
// Latencies show "-" when no segment was received in the interval.
func StatusLine(r Record) string {
	clock := mmss(r.ElapsedSeconds)
	if r.DurationSeconds > 0 {
		clock += "/" + mmss(r.DurationSeconds)
	}
	lat := func(p Percentiles) string {
		if p.Samples == 0 {
			return "-"
		}
		d := time.Duration(p.P95 * float64(time.Second))
		if d < time.Second {
			return d.Round(time.Millisecond).String()
		}
		return fmt.Sprintf("%.2fs", p.P95)
	}
	errs := i64(r.Errors)
	if len(r.ErrorsByClass) > 0 {
		parts := []string{}
		for _, c := range slices.Sorted(maps.Keys(r.ErrorsByClass)) {
			parts = append(parts, c+" "+i64(r.ErrorsByClass[c]))
		}
		errs += " (" + strings.Join(parts, ", ") + ")"
	}
	return fmt.Sprintf("[%s] clients %d/%d (stalled %d)  %.1f req/s  %.1f MB/s  seg ttfb p95 %s  dl p95 %s  errors %s",
		clock, r.Clients.Active, r.Clients.Target, r.Clients.Stalled, r.AttemptsPerSecond, r.BytesPerSecond/1e6,
		lat(r.SegmentTTFB), lat(r.SegmentDownload), errs)
}

func mmss(seconds float64) string {
	s := int(seconds)
	return fmt.Sprintf("%02d:%02d", s/60, s%60)
}

// StatusWriter writes each record's StatusLine to w.
func StatusWriter(w io.Writer) Output {
	return OutputFunc(func(r Record) error {
		_, err := fmt.Fprintln(w, StatusLine(r))
		return err
	})
}

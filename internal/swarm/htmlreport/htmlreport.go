// Package htmlreport writes a run's report as one self-contained HTML file: the verdict table,
// the run's settings and charts over time of its time series (active clients, throughput,
// segment TTFB and download percentiles, errors by class, stalls and rebuffering). Everything is
// inline: the page loads nothing at view time, and its Content-Security-Policy forbids it to.
//
// The charts are drawn by Chart.js, embedded from assets/: the file npm installs for the exact
// version package-lock.json pins (scripts/check-report-assets.sh checks that `npm ci` gives the
// same bytes), with its licence beside it.
package htmlreport

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/event"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/timeseries"
)

//go:embed assets/chart.umd.js assets/package-lock.json report.html.tmpl report.js report.css
var files embed.FS

// Licenses are the licences of the embedded library (Chart.js, and @kurkle/color which its
// bundle contains), kept beside it.
//
//go:embed assets/chart.js.LICENSE.md assets/kurkle-color.LICENSE.md
var Licenses embed.FS

var (
	tmpl    = template.Must(template.New("report.html.tmpl").ParseFS(files, "report.html.tmpl"))
	chartJS = mustRead("assets/chart.umd.js")
	appJS   = mustRead("report.js")
	css     = mustRead("report.css")
	// ChartJSVersion is the version of the embedded Chart.js, from package-lock.json.
	ChartJSVersion = lockedVersion("chart.js")
)

func mustRead(name string) string {
	b, err := files.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// lockedVersion is the version package-lock.json pins for an npm package.
func lockedVersion(pkg string) string {
	var lock struct {
		Packages map[string]struct {
			Version string `json:"version"`
		} `json:"packages"`
	}
	if err := json.Unmarshal([]byte(mustRead("assets/package-lock.json")), &lock); err != nil {
		panic(err)
	}
	v := lock.Packages["node_modules/"+pkg].Version
	if v == "" {
		panic("package-lock.json pins no " + pkg)
	}
	return v
}

// sourceMapComment is the bundle's last line, naming a .map file that is not shipped: dropped
// when inlined, so the page names no file it does not have.
var sourceMapComment = regexp.MustCompile(`\n//# sourceMappingURL=\S+\s*$`)

// inlineScript makes a script safe to inline in a <script> element: it must not contain
// "</script" (it would end the element), and its source-map comment is dropped.
func inlineScript(name, src string) (template.JS, error) {
	if strings.Contains(strings.ToLower(src), "</script") {
		return "", fmt.Errorf("%s contains </script and cannot be inlined", name)
	}
	return template.JS(sourceMapComment.ReplaceAllString(src, "\n")), nil //nolint:gosec // our embedded files, checked above
}

// Write writes the report of a run (a live run's records and summary, or a time series read
// back) to w.
func Write(w io.Writer, run timeseries.Run) error {
	p, err := newPage(run)
	if err != nil {
		return err
	}
	return tmpl.Execute(w, p)
}

// WriteFile writes the report to path: to a temporary file in the same directory, then renamed
// over path, so path never holds a partial report.
func WriteFile(path string, run timeseries.Run) (err error) {
	var buf bytes.Buffer
	if err := Write(&buf, run); err != nil {
		return fmt.Errorf("report %s: %w", path, err)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("report %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
			err = fmt.Errorf("report %s: %w", path, err)
		}
	}()
	if _, err = f.Write(buf.Bytes()); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// page is what the template shows.
type page struct {
	Title    string
	URL      string
	Version  string
	Started  string
	Length   string
	Interval string
	Records  int
	// Finished: the run ended and wrote its summary; Interrupted: a signal ended it early.
	Finished, Interrupted bool
	// Unfinished says how the time series ends when the run did not finish.
	Unfinished string
	Verdict    string // PASS or FAIL (finished runs)
	Thresholds []thresholdRow
	Summary    string // the text summary, as the run printed it
	Settings   []timeseries.Setting
	Charts     []chart
	Data       chartData
	ChartJS    template.JS
	ChartVer   string
	App        template.JS
	CSS        template.CSS
}

type thresholdRow struct {
	Threshold, Actual, Result string
	Pass                      bool
}

type chart struct{ ID, Title, Note string }

var charts = []chart{
	{"clients", "Clients", "target, active (client processes running) and stalled (playback buffer empty), at each record"},
	{"throughput", "Throughput", "response body megabytes (10⁶ bytes) and attempts per second over each interval"},
	{"ttfb", "Segment time to first byte", "p50, p95, p99 of the segments received in each interval, in milliseconds"},
	{"download", "Segment download time", "p50, p95, p99 of the segments received in each interval (request sent → last byte), in milliseconds"},
	{"errors", "Errors by class", "failed attempts in each interval, stacked by class"},
	{"playback", "Stalls and rebuffering", "new stalls in each interval, and time stalled / time watched over all clients (%)"},
}

func newPage(run timeseries.Run) (page, error) {
	lib, err := inlineScript("chart.umd.js", chartJS)
	if err != nil {
		return page{}, err
	}
	app, err := inlineScript("report.js", appJS)
	if err != nil {
		return page{}, err
	}
	if run.Header == nil && run.Summary == nil && len(run.Records) == 0 {
		return page{}, errors.New("nothing to report: no header, record or summary")
	}
	p := page{Records: len(run.Records), Finished: run.Finished(), Charts: charts, Data: newChartData(run.Records),
		ChartJS: lib, ChartVer: ChartJSVersion, App: app, CSS: template.CSS(css)} //nolint:gosec // our embedded file
	var thresholds []string
	if h := run.Header; h != nil {
		p.URL, p.Version, p.Settings, thresholds = h.URL, h.Version, h.Settings, h.Thresholds
		p.Started = h.Started.UTC().Format(time.RFC3339)
		if h.DurationSeconds > 0 {
			p.Length = seconds(h.DurationSeconds)
		} else {
			p.Length = "until interrupted"
		}
		p.Interval = seconds(h.IntervalSeconds)
	}
	if s := run.Summary; s != nil {
		p.URL, p.Version, p.Interrupted = s.URL, s.Version, s.Interrupted
		p.Started = s.Started.UTC().Format(time.RFC3339)
		p.Verdict = "PASS"
		if !s.Pass {
			p.Verdict = "FAIL"
		}
		for _, r := range s.Thresholds {
			row := thresholdRow{Threshold: r.Threshold, Actual: r.Shown, Result: "PASS", Pass: r.Pass}
			if r.Missing {
				row.Actual = "no value"
			}
			if !r.Pass {
				row.Result = "FAIL"
			}
			p.Thresholds = append(p.Thresholds, row)
		}
		var buf bytes.Buffer
		if err := s.WriteTable(&buf); err != nil {
			return page{}, err
		}
		p.Summary = buf.String()
	} else {
		for _, t := range thresholds {
			p.Thresholds = append(p.Thresholds, thresholdRow{Threshold: t, Actual: "—", Result: "not evaluated"})
		}
		p.Unfinished = unfinished(run)
	}
	p.Title = "go-ffmpeg-hls-swarm report"
	if p.URL != "" {
		p.Title += ": " + p.URL
	}
	return p, nil
}

// unfinished says how the time series of a run that did not finish ends.
func unfinished(run timeseries.Run) string {
	msg := "The run did not finish: "
	if n := len(run.Records); n > 0 {
		last := run.Records[n-1]
		msg += fmt.Sprintf("the time series ends at %s after %d records, with no summary", seconds(last.ElapsedSeconds), n)
		if !last.Final {
			msg += " and no final record"
		}
	} else {
		msg += "the time series has no record"
	}
	msg += " (the process was killed, or the file was cut"
	if run.Cut {
		msg += "; its last line was incomplete and is left out"
	}
	return msg + "). The charts show what was recorded; there is no verdict."
}

func seconds(s float64) string {
	return (time.Duration(s * float64(time.Second))).Round(time.Millisecond).String()
}

// MaxPoints is the most points a chart gets: a longer time series is drawn with each point
// covering several consecutive records (a day of 5 s records: 12 records a point), so the page
// stays quick to open.
const MaxPoints = 1500

// chartData is the time series, column by column, for the page's script: one point per record,
// or per PerPoint consecutive records when there are more than MaxPoints. Latencies are in
// milliseconds; null where no segment was received.
type chartData struct {
	PerPoint int        `json:"per_point"`
	Elapsed  []float64  `json:"t"`
	Target   []int      `json:"target"`
	Active   []int      `json:"active"`
	Stalled  []int      `json:"stalled"`
	MBps     []float64  `json:"mbps"`
	RPS      []float64  `json:"rps"`
	TTFB     latencies  `json:"ttfb"`
	Download latencies  `json:"download"`
	Errors   []perClass `json:"errors"`
	Stalls   []int64    `json:"stalls"`
	Rebuffer []float64  `json:"rebuffer_pct"`
}

type latencies struct {
	P50 []*float64 `json:"p50"`
	P95 []*float64 `json:"p95"`
	P99 []*float64 `json:"p99"`
}

type perClass struct {
	Class  string  `json:"class"`
	Counts []int64 `json:"counts"`
}

// newChartData makes the chart data of the records. A point covering records [i, j) shows: the
// time, target and active clients of record j-1; the most stalled clients of any; bytes and
// attempts per second over the whole span; the largest of the records' percentiles; errors and
// new stalls summed; the rebuffer ratio over the span (from the running totals). With one record
// a point these are that record's own numbers.
func newChartData(recs []timeseries.Record) chartData {
	per := max(1, (len(recs)+MaxPoints-1)/MaxPoints)
	d := chartData{PerPoint: per}
	classes := slices.Clone(event.Classes)
	for _, r := range recs {
		for c := range r.ErrorsByClass {
			if !slices.Contains(classes, c) {
				classes = append(classes, c)
			}
		}
	}
	for _, c := range classes {
		d.Errors = append(d.Errors, perClass{Class: c, Counts: []int64{}})
	}
	var before timeseries.Totals // the running totals before the point
	for i := 0; i < len(recs); i += per {
		span := recs[i:min(i+per, len(recs))]
		last := span[len(span)-1]
		d.Elapsed = append(d.Elapsed, last.ElapsedSeconds)
		d.Target, d.Active = append(d.Target, last.Clients.Target), append(d.Active, last.Clients.Active)
		var stalled int
		var bytes, attempts int64
		var seconds float64
		var ttfb, download [3]*float64
		errs := make([]int64, len(classes))
		for _, r := range span {
			stalled = max(stalled, r.Clients.Stalled)
			bytes, attempts, seconds = bytes+r.Bytes, attempts+r.Attempts, seconds+r.IntervalSeconds
			worst(&ttfb, r.SegmentTTFB)
			worst(&download, r.SegmentDownload)
			for k, c := range classes {
				errs[k] += r.ErrorsByClass[c]
			}
		}
		d.Stalled = append(d.Stalled, stalled)
		mbps, rps := 0.0, 0.0
		if seconds > 0 {
			mbps, rps = float64(bytes)/seconds/1e6, float64(attempts)/seconds
		}
		d.MBps, d.RPS = append(d.MBps, mbps), append(d.RPS, rps)
		d.TTFB.P50, d.TTFB.P95, d.TTFB.P99 = append(d.TTFB.P50, ttfb[0]), append(d.TTFB.P95, ttfb[1]), append(d.TTFB.P99, ttfb[2])
		d.Download.P50, d.Download.P95, d.Download.P99 = append(d.Download.P50, download[0]),
			append(d.Download.P95, download[1]), append(d.Download.P99, download[2])
		for k := range classes {
			d.Errors[k].Counts = append(d.Errors[k].Counts, errs[k])
		}
		now := last.Totals
		d.Stalls = append(d.Stalls, now.Stalls-before.Stalls)
		ratio := 0.0
		if w := now.WatchedSeconds - before.WatchedSeconds; w > 0 {
			ratio = 100 * (now.RebufferSeconds - before.RebufferSeconds) / w
		}
		d.Rebuffer = append(d.Rebuffer, ratio)
		before = now
	}
	return d
}

// worst keeps in w the largest p50, p95 and p99 (milliseconds) seen so far; an interval without
// a segment has none.
func worst(w *[3]*float64, p timeseries.Percentiles) {
	if p.Samples == 0 {
		return
	}
	for k, v := range []float64{p.P50, p.P95, p.P99} {
		ms := v * 1000
		if w[k] == nil || ms > *w[k] {
			w[k] = &ms
		}
	}
}

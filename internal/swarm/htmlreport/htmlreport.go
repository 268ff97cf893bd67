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

// chartData is the time series, column by column, for the page's script. Latencies are in
// milliseconds; null where an interval received no segment.
type chartData struct {
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

func newChartData(recs []timeseries.Record) chartData {
	n := len(recs)
	d := chartData{Elapsed: make([]float64, n), Target: make([]int, n), Active: make([]int, n), Stalled: make([]int, n),
		MBps: make([]float64, n), RPS: make([]float64, n), Stalls: make([]int64, n), Rebuffer: make([]float64, n)}
	lat := func(l *latencies, p timeseries.Percentiles) {
		ms := func(v float64) *float64 {
			if p.Samples == 0 {
				return nil
			}
			v *= 1000
			return &v
		}
		l.P50, l.P95, l.P99 = append(l.P50, ms(p.P50)), append(l.P95, ms(p.P95)), append(l.P99, ms(p.P99))
	}
	classes := slices.Clone(event.Classes)
	for _, r := range recs {
		for c := range r.ErrorsByClass {
			if !slices.Contains(classes, c) {
				classes = append(classes, c)
			}
		}
	}
	for _, c := range classes {
		d.Errors = append(d.Errors, perClass{Class: c, Counts: make([]int64, n)})
	}
	var stalls int64
	for i, r := range recs {
		d.Elapsed[i] = r.ElapsedSeconds
		d.Target[i], d.Active[i], d.Stalled[i] = r.Clients.Target, r.Clients.Active, r.Clients.Stalled
		d.MBps[i], d.RPS[i] = r.BytesPerSecond/1e6, r.AttemptsPerSecond
		lat(&d.TTFB, r.SegmentTTFB)
		lat(&d.Download, r.SegmentDownload)
		for j, c := range classes {
			d.Errors[j].Counts[i] = r.ErrorsByClass[c]
		}
		d.Stalls[i], stalls = r.Totals.Stalls-stalls, r.Totals.Stalls
		d.Rebuffer[i] = 100 * r.RebufferRatio
	}
	return d
}

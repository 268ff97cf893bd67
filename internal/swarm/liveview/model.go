package liveview

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/timeseries"
)

// model is the dashboard's state: the options, the records seen (newest last) and what the
// run is doing.
type model struct {
	o        Options
	recs     []timeseries.Record
	now      time.Time
	width    int
	stopping bool // q, Ctrl-C, a signal or the end of the duration
	asked    bool // the user asked (q or Ctrl-C)
	final    bool
	logs     []string // the last few log lines
}

const logLinesShown = 3

func newModel(o Options) model {
	return model{o: o, now: time.Now(), width: 100}
}

func (m model) Init() tea.Cmd { return tick() }

func tick() tea.Cmd {
	return tea.Tick(time.Second, func(t time.Time) tea.Msg { return tickMsg(t) })
}

func (m model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		switch msg.String() {
		case "q", "ctrl+c":
			if !m.asked {
				m.asked, m.stopping = true, true
				if m.o.Stop != nil {
					m.o.Stop()
				}
			}
		}
	case tea.WindowSizeMsg:
		m.width = msg.Width
	case recordMsg:
		m.recs = append(m.recs, timeseries.Record(msg))
		if len(m.recs) > m.o.History {
			m.recs = slices.Delete(m.recs, 0, len(m.recs)-m.o.History)
		}
		m.final = msg.Final
		m.stopping = m.stopping || msg.Final
	case stoppingMsg:
		m.stopping = true
	case tickMsg:
		m.now = time.Time(msg)
		if !m.final {
			return m, tick()
		}
	case logMsg:
		m.logs = append(m.logs, string(msg))
		if len(m.logs) > logLinesShown {
			m.logs = m.logs[len(m.logs)-logLinesShown:]
		}
	}
	return m, nil
}

var (
	titleStyle = lipgloss.NewStyle().Bold(true)
	labelStyle = lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("6"))
	dimStyle   = lipgloss.NewStyle().Faint(true)
	goodStyle  = lipgloss.NewStyle().Foreground(lipgloss.Color("2"))
	badStyle   = lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("1"))
	warnStyle  = lipgloss.NewStyle().Foreground(lipgloss.Color("3"))
	sparkStyle = lipgloss.NewStyle().Foreground(lipgloss.Color("4"))
)

func (m model) View() tea.View { return tea.NewView(m.render()) }

// render is the dashboard as text; every line is cut to the terminal's width.
func (m model) render() string {
	w := max(m.width, 40)
	var lines []string
	add := func(s string) { lines = append(lines, s) }
	label := func(s string) string { return labelStyle.Render(fmt.Sprintf("%-11s", s)) }

	add(titleStyle.Render("go-ffmpeg-hls-swarm") + "  " + m.o.URL)
	add(m.clock())
	add("")
	if len(m.recs) == 0 {
		add(dimStyle.Render(fmt.Sprintf("waiting for the first record (every %s) …", m.o.Interval)))
	} else {
		r := m.recs[len(m.recs)-1]
		stalled := strconv.Itoa(r.Clients.Stalled)
		if r.Clients.Stalled > 0 {
			stalled = warnStyle.Render(stalled)
		}
		add(label("clients") + fmt.Sprintf("active %d / target %d   stalled %s   starts %d   restarts %d",
			r.Clients.Active, r.Clients.Target, stalled, r.Totals.Starts, r.Totals.Restarts))
		add(label("requests") + fmt.Sprintf("%.1f attempts/s   %d total", r.AttemptsPerSecond, r.Totals.Attempts))
		add(label("received") + fmt.Sprintf("%s/s (%.1f Mbit/s)   %s total", bytesIEC(r.BytesPerSecond), r.BytesPerSecond*8/1e6, bytesIEC(float64(r.Totals.Bytes))))
		add(label("seg TTFB") + percentiles(r.SegmentTTFB))
		add(label("seg load") + percentiles(r.SegmentDownload))
		rebuf := fmt.Sprintf("%.2f %%", 100*r.RebufferRatio)
		if r.RebufferRatio > 0 {
			rebuf = warnStyle.Render(rebuf)
		}
		add(label("rebuffer") + fmt.Sprintf("%s this interval   %.2f %% overall   %d stalls", rebuf, 100*r.Totals.RebufferRatio, r.Totals.Stalls))
		add(label("errors") + m.errors(r))
		add("")
		add(dimStyle.Render(fmt.Sprintf("over the last %s (one bar per %s):", time.Duration(m.shown(w))*m.o.Interval, m.o.Interval)))
		for _, s := range m.sparklines() {
			add(label(s.name) + sparkStyle.Render(sparkline(s.values, w-23)) + " " + s.now)
		}
	}
	add("")
	if !m.final { // the log lines follow the last frame in full
		for _, l := range m.logs {
			add(dimStyle.Render(l))
		}
	}
	switch {
	case m.final:
		add(titleStyle.Render("run over: the summary follows"))
	case m.stopping:
		add(warnStyle.Render("stopping: clients get their grace period, then the summary follows"))
	default:
		add(dimStyle.Render("q or Ctrl-C: stop the run (the summary follows)"))
	}
	for i, l := range lines {
		lines[i] = cut(l, w)
	}
	// A blank last line: after the program ends, what is written next starts on the line the
	// cursor was left on.
	return strings.Join(lines, "\n") + "\n"
}

// clock is elapsed / duration and what is left, ticking between records.
func (m model) clock() string {
	elapsed := m.now.Sub(m.o.Start)
	if n := len(m.recs); n > 0 && m.final {
		elapsed = time.Duration(m.recs[n-1].ElapsedSeconds * float64(time.Second))
	}
	elapsed = max(elapsed, 0)
	s := "elapsed " + hms(elapsed)
	if m.o.Duration > 0 {
		left := max(m.o.Duration-elapsed, 0)
		s += " / " + hms(m.o.Duration) + "   remaining " + hms(left)
	} else {
		s += "   (no --duration: runs until stopped)"
	}
	return s
}

func (m model) errors(r timeseries.Record) string {
	if r.Errors == 0 && r.Totals.Errors == 0 {
		return goodStyle.Render("none")
	}
	s := fmt.Sprintf("%d this interval   %d total", r.Errors, r.Totals.Errors)
	if r.Errors > 0 {
		s = badStyle.Render(fmt.Sprintf("%d", r.Errors)) + fmt.Sprintf(" this interval   %d total", r.Totals.Errors)
	}
	if len(r.ErrorsByClass) > 0 {
		s += "   by class: " + counts(r.ErrorsByClass, " ")
	}
	if len(r.HTTPErrorsByStatus) > 0 {
		s += "   by status: " + counts(r.HTTPErrorsByStatus, " ×")
	}
	return s
}

// shown is how many records a sparkline of width w shows.
func (m model) shown(w int) int { return min(len(m.recs), max(w-23, 1)) }

type series struct {
	name   string
	values []float64
	now    string
}

// sparklines are the history rows: one value per record.
func (m model) sparklines() []series {
	get := func(f func(timeseries.Record) float64) []float64 {
		out := make([]float64, len(m.recs))
		for i, r := range m.recs {
			out[i] = f(r)
		}
		return out
	}
	r := m.recs[len(m.recs)-1]
	return []series{
		{"active", get(func(r timeseries.Record) float64 { return float64(r.Clients.Active) }), strconv.Itoa(r.Clients.Active)},
		{"attempts/s", get(func(r timeseries.Record) float64 { return r.AttemptsPerSecond }), fmt.Sprintf("%.1f", r.AttemptsPerSecond)},
		{"Mbit/s", get(func(r timeseries.Record) float64 { return r.BytesPerSecond * 8 / 1e6 }), fmt.Sprintf("%.1f", r.BytesPerSecond*8/1e6)},
		{"TTFB p95", get(func(r timeseries.Record) float64 { return r.SegmentTTFB.P95 }), latency(r.SegmentTTFB.P95, r.SegmentTTFB.Samples)},
		{"load p95", get(func(r timeseries.Record) float64 { return r.SegmentDownload.P95 }), latency(r.SegmentDownload.P95, r.SegmentDownload.Samples)},
		{"errors", get(func(r timeseries.Record) float64 { return float64(r.Errors) }), strconv.FormatInt(r.Errors, 10)},
		{"rebuffer %", get(func(r timeseries.Record) float64 { return 100 * r.RebufferRatio }), fmt.Sprintf("%.2f", 100*r.RebufferRatio)},
	}
}

var bars = []rune("▁▂▃▄▅▆▇█")

// sparkline draws the last width values as block characters scaled from 0 to their maximum.
func sparkline(values []float64, width int) string {
	if width < 1 {
		return ""
	}
	if len(values) > width {
		values = values[len(values)-width:]
	}
	top := 0.0
	for _, v := range values {
		top = math.Max(top, v)
	}
	var b strings.Builder
	for _, v := range values {
		i := 0
		if top > 0 && v > 0 {
			i = min(int(math.Ceil(v/top*float64(len(bars))))-1, len(bars)-1)
		}
		b.WriteRune(bars[max(i, 0)])
	}
	return b.String()
}

func percentiles(p timeseries.Percentiles) string {
	if p.Samples == 0 {
		return dimStyle.Render("no segment received in this interval")
	}
	return fmt.Sprintf("p50 %-8s p95 %-8s p99 %-8s (%d segments)", latency(p.P50, p.Samples), latency(p.P95, p.Samples), latency(p.P99, p.Samples), p.Samples)
}

// latency is seconds as milliseconds below one second, else seconds; "-" without samples.
func latency(sec float64, samples uint64) string {
	if samples == 0 {
		return "-"
	}
	if sec < 1 {
		return fmt.Sprintf("%.0fms", sec*1000)
	}
	return fmt.Sprintf("%.2fs", sec)
}

func bytesIEC(v float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}

func counts(m map[string]int64, sep string) string {
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+sep+strconv.FormatInt(m[k], 10))
	}
	return strings.Join(parts, ", ")
}

func hms(d time.Duration) string {
	s := int(d.Round(time.Second).Seconds())
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%02d:%02d", s/60, s%60)
}

// cut shortens a line to width cells (styles kept).
func cut(s string, width int) string {
	if lipgloss.Width(s) <= width {
		return s
	}
	return lipgloss.NewStyle().MaxWidth(width).Render(s)
}

func itoa(n int) string { return strconv.Itoa(n) }

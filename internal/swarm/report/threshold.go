// Thresholds in the style of k6: a pass/fail condition on one number of the run summary.
//
// Grammar (whitespace is allowed between the parts):
//
//	threshold = metric op value
//	op        = "<" | "<=" | ">" | ">=" | "==" | "!="
//	value     = number [unit]                     e.g. 0.01, 3s, 250ms, 1%, 10MB
//
// The metric decides which units its value may carry:
//
//	kind     metrics                                            units
//	count    clients clients_peak starts restarts requests      none
//	         playlists segments http_errors http_4xx http_5xx
//	         timeouts refused errors stalls
//	ratio    error_rate rebuffer_ratio                          none (a fraction) or % (1% = 0.01)
//	seconds  startup_, segment_, ttfb_, playlist_ + p50 p90     a Go duration (3s, 250ms, 1m30s) or
//	         p95 p99 max; duration                              a bare number of seconds
//	bytes    bytes                                              none, kB MB GB (×1000) or KiB MiB GiB (×1024)
//
// segment_* is a segment's download time (request sent → last byte), ttfb_* a segment's time
// to first byte, playlist_* a playlist's download time, startup_* a client process's start →
// its first segment received; stalls and rebuffer_ratio (time stalled / time watched) come from
// the clients' virtual playback buffers (internal/swarm/qoe). A threshold on a percentile fails when there is no sample to
// compare, which is what a person asking for "startup_p95<3s" means. Names and
// units are case-sensitive; an unknown metric or unit is an error that lists the valid ones,
// reported before any client starts.

package report

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Kind says what a threshold metric measures, and so which units its value may carry.
type Kind int

// The kinds of threshold metric.
const (
	Count Kind = iota
	Ratio
	Seconds
	Bytes
)

// thresholdMetrics maps each metric name to its kind.
var thresholdMetrics = withLatencies(map[string]Kind{
	"clients": Count, "clients_peak": Count, "starts": Count, "restarts": Count,
	"requests": Count, "playlists": Count, "segments": Count, "http_errors": Count, "http_4xx": Count,
	"http_5xx": Count, "timeouts": Count, "refused": Count, "errors": Count, "stalls": Count,
	"error_rate": Ratio, "rebuffer_ratio": Ratio,
	"duration": Seconds,
	"bytes":    Bytes,
})

// withLatencies adds the percentiles and maximum of each latency (startup_p95, ttfb_max, …).
func withLatencies(m map[string]Kind) map[string]Kind {
	for _, prefix := range []string{"startup", "segment", "ttfb", "playlist"} {
		for _, p := range []string{"_p50", "_p90", "_p95", "_p99", "_max"} {
			m[prefix+p] = Seconds
		}
	}
	return m
}

// MetricNames lists the metrics a threshold may name, sorted.
func MetricNames() []string {
	names := make([]string, 0, len(thresholdMetrics))
	for n := range thresholdMetrics {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

var byteUnits = map[string]float64{"": 1, "B": 1, "kB": 1e3, "KB": 1e3, "MB": 1e6, "GB": 1e9,
	"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}

var thresholdRE = regexp.MustCompile(`^\s*([a-z][a-z0-9_]*)\s*(<=|>=|==|!=|<|>)\s*(\S+)\s*$`)

// Threshold is one parsed condition.
type Threshold struct {
	Expr   string  // as written
	Metric string  // e.g. "startup_p95"
	Op     string  // one of < <= > >= == !=
	Value  float64 // in the metric's base unit (count, fraction, seconds or bytes)
}

// ParseThreshold parses one threshold expression.
func ParseThreshold(expr string) (Threshold, error) {
	m := thresholdRE.FindStringSubmatch(expr)
	if m == nil {
		return Threshold{}, fmt.Errorf("threshold %q: want METRIC OP VALUE such as error_rate<0.01 or startup_p95<3s", expr)
	}
	name, op, raw := m[1], m[2], m[3]
	kind, ok := thresholdMetrics[name]
	if !ok {
		return Threshold{}, fmt.Errorf("threshold %q: unknown metric %q (valid: %s)", expr, name, strings.Join(MetricNames(), ", "))
	}
	v, err := parseValue(kind, raw)
	if err != nil {
		return Threshold{}, fmt.Errorf("threshold %q: %w", expr, err)
	}
	return Threshold{Expr: strings.TrimSpace(expr), Metric: name, Op: op, Value: v}, nil
}

// ParseThresholds parses every expression, stopping at the first bad one.
func ParseThresholds(exprs []string) ([]Threshold, error) {
	out := make([]Threshold, 0, len(exprs))
	for _, e := range exprs {
		t, err := ParseThreshold(e)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

func parseValue(kind Kind, raw string) (float64, error) {
	num, unit := splitNumber(raw)
	switch kind {
	case Seconds:
		if unit == "" {
			return parseNumber(num, raw)
		}
		d, err := time.ParseDuration(raw)
		if err != nil {
			return 0, fmt.Errorf("value %q is not a duration such as 3s or 250ms", raw)
		}
		return d.Seconds(), nil
	case Ratio:
		v, err := parseNumber(num, raw)
		if err != nil {
			return 0, err
		}
		switch unit {
		case "":
			return v, nil
		case "%":
			return v / 100, nil
		}
		return 0, fmt.Errorf("value %q: a rate is a fraction (0.01) or a percentage (1%%)", raw)
	case Bytes:
		v, err := parseNumber(num, raw)
		if err != nil {
			return 0, err
		}
		mult, ok := byteUnits[unit]
		if !ok {
			return 0, fmt.Errorf("value %q: byte units are kB, MB, GB, KiB, MiB, GiB", raw)
		}
		return v * mult, nil
	default:
		if unit != "" {
			return 0, fmt.Errorf("value %q: a count takes a plain number", raw)
		}
		return parseNumber(num, raw)
	}
}

// splitNumber splits "250ms" into "250" and "ms".
func splitNumber(s string) (num, unit string) {
	i := strings.IndexFunc(s, func(r rune) bool { return !strings.ContainsRune("0123456789.+-", r) })
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i:]
}

func parseNumber(num, raw string) (float64, error) {
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("value %q is not a number", raw)
	}
	return v, nil
}

// Result is a threshold evaluated against a summary.
type Result struct {
	Threshold string  `json:"threshold"`
	Metric    string  `json:"metric"`
	Actual    float64 `json:"actual"`
	// Shown is Actual with its unit, as the table prints it ("111ms", "11.0 MB", "0.3%").
	Shown string `json:"actual_shown"`
	// Missing is true when the summary has no value for the metric (no start-up sample).
	Missing bool `json:"missing,omitempty"`
	Pass    bool `json:"pass"`
}

// Evaluate checks t against the values of a summary (see Summary.Values).
func (t Threshold) Evaluate(values map[string]float64) Result {
	r := Result{Threshold: t.Expr, Metric: t.Metric}
	v, ok := values[t.Metric]
	if !ok {
		r.Missing = true
		return r
	}
	r.Actual = v
	r.Shown = Show(thresholdMetrics[t.Metric], v)
	switch t.Op {
	case "<":
		r.Pass = v < t.Value
	case "<=":
		r.Pass = v <= t.Value
	case ">":
		r.Pass = v > t.Value
	case ">=":
		r.Pass = v >= t.Value
	case "==":
		r.Pass = v == t.Value
	case "!=":
		r.Pass = v != t.Value
	}
	return r
}

// Show formats a value of a threshold metric with its unit.
func Show(k Kind, v float64) string {
	switch k {
	case Seconds:
		return secs(v)
	case Bytes:
		return decimalBytes(v)
	case Ratio:
		return strconv.FormatFloat(100*v, 'g', 4, 64) + "%"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// decimalBytes prints bytes in the units thresholds take (kB, MB, GB: powers of 1000).
func decimalBytes(v float64) string {
	units := []string{"B", "kB", "MB", "GB", "TB"}
	i := 0
	for v >= 1000 && i < len(units)-1 {
		v /= 1000
		i++
	}
	if i == 0 {
		return strconv.FormatFloat(v, 'f', -1, 64) + " B"
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + units[i]
}

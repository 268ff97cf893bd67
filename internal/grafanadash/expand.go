package grafanadash

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Selection is the value a user picked for a variable: some of its options, or "All".
type Selection struct {
	Values []string
	All    bool
}

// Window is what Grafana's built-in interval variables are computed from: the dashboard's time
// range, the panel's data points (its width in pixels, or maxDataPoints) and the data source's
// scrape interval (its "timeInterval" setting, 15 s when unset).
type Window struct {
	Range          time.Duration
	MaxDataPoints  int
	ScrapeInterval time.Duration
}

// Interval is Grafana's $__interval: range / data points rounded to a friendly step, never below
// the scrape interval.
func (w Window) Interval() time.Duration {
	iv := roundInterval(w.Range / time.Duration(max(w.MaxDataPoints, 1)))
	return max(iv, w.ScrapeInterval)
}

// RateInterval is Grafana's $__rate_interval: max($__interval + scrape interval, 4 × scrape
// interval), so a rate() window always holds at least four scrapes.
func (w Window) RateInterval() time.Duration {
	return max(w.Interval()+w.ScrapeInterval, 4*w.ScrapeInterval)
}

// roundInterval is Grafana's rangeutil.roundInterval: the step an interval is rounded to.
func roundInterval(d time.Duration) time.Duration {
	ms := d.Milliseconds()
	steps := []struct{ below, to int64 }{
		{15, 10}, {35, 20}, {75, 50}, {150, 100}, {350, 200}, {750, 500}, {1500, 1000},
		{3500, 2000}, {7500, 5000}, {12500, 10000}, {17500, 15000}, {25000, 20000}, {45000, 30000},
		{90000, 60000}, {210000, 120000}, {450000, 300000}, {750000, 600000}, {1050000, 900000},
		{1500000, 1200000}, {2700000, 1800000}, {5400000, 3600000}, {9000000, 7200000},
		{16200000, 10800000}, {32400000, 21600000}, {86400000, 43200000}, {604800000, 86400000},
		{1814400000, 604800000}, {3628800000, 2592000000},
	}
	for _, s := range steps {
		if ms < s.below {
			return time.Duration(s.to) * time.Millisecond
		}
	}
	return 365 * 24 * time.Hour
}

// promDuration writes d as PromQL does (1s, 2m, 500ms), in its largest whole unit.
func promDuration(d time.Duration) string {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d >= time.Minute && d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	case d >= time.Second && d%time.Second == 0:
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return fmt.Sprintf("%dms", d.Milliseconds())
}

// variableRef matches Grafana's variable syntaxes: $name, ${name}, ${name:format}, [[name]].
var variableRef = regexp.MustCompile(`\$(\w+)|\$\{(\w+)(?::([^}]*))?\}|\[\[(\w+)\]\]`)

// Expand replaces the template variables of a panel's Prometheus query as Grafana's Prometheus
// data source does: built-in intervals from w; a variable without multi-value or "All" as its
// value (backslashes and quotes escaped); a multi-value or "All" variable as a regular
// expression (each value's regex characters escaped, several as (a|b)); "All" with an AllValue
// as that value, unescaped. A variable that is not defined or not selected, or a format
// (${x:csv}), is an error: what Grafana would send is then not known.
func (d *Dashboard) Expand(expr string, sel map[string]Selection, w Window) (string, error) {
	vars := map[string]Variable{}
	for _, v := range d.Variables {
		vars[v.Name] = v
	}
	var bad error
	out := variableRef.ReplaceAllStringFunc(expr, func(ref string) string {
		m := variableRef.FindStringSubmatch(ref)
		name := m[1] + m[2] + m[4]
		if m[3] != "" {
			bad = fmt.Errorf("%s: formats are not supported", ref)
			return ref
		}
		switch name {
		case "__interval":
			return promDuration(w.Interval())
		case "__interval_ms":
			return strconv.FormatInt(w.Interval().Milliseconds(), 10)
		case "__rate_interval":
			return promDuration(w.RateInterval())
		case "__range":
			return fmt.Sprintf("%ds", int64(w.Range.Seconds()))
		case "__range_s":
			return strconv.FormatInt(int64(w.Range.Seconds()), 10)
		case "__range_ms":
			return strconv.FormatInt(w.Range.Milliseconds(), 10)
		}
		v, ok := vars[name]
		if !ok {
			bad = fmt.Errorf("%s: no such variable", ref)
			return ref
		}
		s, ok := sel[name]
		if !ok || (!s.All && len(s.Values) == 0) {
			bad = fmt.Errorf("%s: no value selected", ref)
			return ref
		}
		out, err := v.format(s)
		if err != nil {
			bad = fmt.Errorf("%s: %w", ref, err)
		}
		return out
	})
	if bad != nil {
		return "", bad
	}
	return out, nil
}

// format is Grafana's Prometheus interpolateQueryExpr for one variable.
func (v Variable) format(s Selection) (string, error) {
	if s.All {
		if !v.IncludeAll {
			return "", fmt.Errorf("variable %s has no All option", v.Name)
		}
		if v.AllValue != nil && *v.AllValue != "" {
			return *v.AllValue, nil
		}
	}
	if !v.Multi && !v.IncludeAll {
		if len(s.Values) != 1 {
			return "", fmt.Errorf("variable %s takes one value, got %d", v.Name, len(s.Values))
		}
		return regularEscape(s.Values[0]), nil
	}
	if len(s.Values) > 1 && !v.Multi && !s.All {
		return "", fmt.Errorf("variable %s takes one value, got %d", v.Name, len(s.Values))
	}
	esc := make([]string, len(s.Values))
	for i, x := range s.Values {
		esc[i] = regexEscape(x)
	}
	if len(esc) == 1 {
		return esc[0], nil
	}
	return "(" + strings.Join(esc, "|") + ")", nil
}

// regularEscape is Grafana's prometheusRegularEscape: \ → \\ and ' → \\'.
func regularEscape(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	return strings.ReplaceAll(s, `'`, `\\'`)
}

// regexEscape is Grafana's prometheusSpecialRegexEscape: \ → \\\\ and each of $^*{}[]'+?.()|
// preceded by \\ (two backslashes: one for the PromQL string, one for the regex).
func regexEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\\\`)
		case strings.ContainsRune(`$^*{}[]'+?.()|`, r):
			b.WriteString(`\\`)
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// labelValuesQuery matches a query variable's label_values(metric{…}, label) or
// label_values(label).
var labelValuesQuery = regexp.MustCompile(`^\s*label_values\(\s*(?:(.+?)\s*,\s*)?(\w+)\s*\)\s*$`)

// LabelValues splits a query variable's label_values(…) into its series selector ("" for none)
// and label name, the two things Grafana asks Prometheus's /api/v1/label/NAME/values with.
func LabelValues(query string) (selector, label string, err error) {
	m := labelValuesQuery.FindStringSubmatch(query)
	if m == nil {
		return "", "", fmt.Errorf("%q is not label_values(…)", query)
	}
	return m[1], m[2], nil
}

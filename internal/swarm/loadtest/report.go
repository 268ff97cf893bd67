package loadtest

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/config"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/htmlreport"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/report"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/timeseries"
)

// EffectiveSettings are the run's settings as the "effective settings" log line shows them
// (Settings.LogAttrs: the same names, in the same order, secrets such as header values left
// out), each with where its value came from.
func EffectiveSettings(s config.Settings) []timeseries.Setting {
	attrs := s.LogAttrs()
	values, sources := attrs[0].(slog.Attr).Value.Group(), attrs[1].(slog.Attr).Value.Group()
	from := map[string]string{}
	for _, a := range sources {
		from[a.Key] = a.Value.String()
	}
	// The log names that differ from their flag's name.
	flagOf := map[string][]string{"headers": {"header"}, "thresholds": {"threshold"},
		"metrics_addr": {"metrics-addr", "metrics-port"}}
	out := make([]timeseries.Setting, 0, len(values))
	for _, a := range values {
		v := a.Value.String()
		if list, ok := a.Value.Any().([]string); ok {
			v = strings.Join(list, ", ")
		}
		src := "default"
		flags, ok := flagOf[a.Key]
		if !ok {
			flags = []string{strings.ReplaceAll(a.Key, "_", "-")}
		}
		for _, f := range flags {
			if from[f] != "" {
				src = from[f]
				break
			}
		}
		out = append(out, timeseries.Setting{Name: a.Key, Value: v, From: src})
	}
	return out
}

// Report rebuilds the HTML report of a run from its NDJSON time series (--timeseries) and
// writes it to out. A time series cut short (a killed run) gives a report of what it has, which
// says the run did not finish. Bad input (a missing, CSV or malformed file, an unwritable out):
// one line, exit 2, nothing written.
func Report(in, out string, stdout io.Writer) (int, error) {
	if out == "" {
		return fail(ExitUsage, fmt.Errorf("report %s: name the HTML file to write with -o FILE.html", in))
	}
	if err := report.CheckPath("-o", out); err != nil {
		return fail(ExitUsage, err)
	}
	run, err := timeseries.ReadFile(in)
	if err != nil {
		return fail(ExitUsage, fmt.Errorf("report: %w", err))
	}
	if err := htmlreport.WriteFile(out, run); err != nil {
		return fail(ExitRuntime, err)
	}
	state := "the run did not finish"
	if run.Finished() {
		state = "verdict PASS"
		if !run.Summary.Pass {
			state = "verdict FAIL"
		}
	}
	fmt.Fprintf(stdout, "%s: report of %d records from %s (%s)\n", out, len(run.Records), in, state)
	return ExitOK, nil
}

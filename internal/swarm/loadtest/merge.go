package loadtest

import (
	"errors"
	"fmt"
	"io"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/report"
)

// MergeOptions are the merge subcommand's settings.
type MergeOptions struct {
	Thresholds  []string
	SummaryJSON string
	Stdin       io.Reader // read for the argument "-"
	Stdout      io.Writer
	Stderr      io.Writer // warnings (missing shards), one line each
}

// Merge merges the shard summaries that args name (files or directories, see report.Load),
// prints the merged summary as a run does, writes it as JSON when asked, and returns the exit
// code a run would: 0 every threshold passed, 1 one failed, 2 bad input (nothing printed).
func Merge(args []string, o MergeOptions) (int, error) {
	thresholds, err := report.ParseThresholds(o.Thresholds)
	if err != nil {
		return fail(ExitUsage, fmt.Errorf("--threshold: %w", err))
	}
	if o.SummaryJSON != "" {
		if err := report.CheckPath("--summary-json", o.SummaryJSON); err != nil {
			return fail(ExitUsage, err)
		}
	}
	in, err := report.Load(args, o.Stdin)
	if err != nil {
		return fail(ExitUsage, err)
	}
	sum, warnings, err := report.Merge(in, thresholds)
	if err != nil {
		return fail(ExitUsage, err)
	}
	for _, w := range warnings {
		fmt.Fprintln(o.Stderr, "go-ffmpeg-hls-swarm merge: warning:", w)
	}
	if err := sum.WriteTable(o.Stdout); err != nil {
		return fail(ExitRuntime, fmt.Errorf("print summary: %w", err))
	}
	if o.SummaryJSON != "" {
		if err := sum.WriteJSONFile(o.SummaryJSON); err != nil {
			return fail(ExitRuntime, err)
		}
	}
	if !sum.Pass {
		return fail(ExitThresholds, errors.New(failedSummary(sum)))
	}
	return ExitOK, nil
}

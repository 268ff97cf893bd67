package main

import (
	"github.com/spf13/cobra"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/loadtest"
)

func newReportCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "report [flags] RUN.ndjson -o REPORT.html",
		Short: "Rebuild the HTML report of a run from its NDJSON time series (--timeseries)",
		Long: `report reads the NDJSON time series a run wrote with --timeseries (its header line of
settings and thresholds, one record per interval, and its closing summary line) and writes the
same self-contained HTML report that --report writes at the end of a run: the verdict table, the
settings, and charts over time. It needs nothing at view time (no network).

A time series cut short (a run killed with SIGKILL) gives a report of the records it has, which
says the run did not finish and has no verdict. A CSV time series holds the records only and is
refused. Exit codes: 0 written, 2 bad input (missing or malformed file, CSV, no -o, an unwritable
-o path; nothing written), 4 the report could not be written.`,
		Example: `  go-ffmpeg-hls-swarm --duration 2m --timeseries run.ndjson URL
  go-ffmpeg-hls-swarm report run.ndjson -o report.html`,
		Args:          cobra.ExactArgs(1),
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := loadtest.Report(args[0], out, cmd.OutOrStdout())
			return err
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "the HTML file to write (temporary name, then renamed)")
	return cmd
}

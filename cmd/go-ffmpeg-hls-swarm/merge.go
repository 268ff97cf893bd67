package main

import (
	"github.com/spf13/cobra"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/loadtest"
)

func newMergeCmd() *cobra.Command {
	var o loadtest.MergeOptions
	cmd := &cobra.Command{
		Use:   "merge [flags] FILE|DIR|- …",
		Short: "Merge the --summary-json files of several shards into one summary and verdict",
		Long: `merge reads the summaries (--summary-json) of the shards of one load test, run on several
machines (--shard I/N), and prints one summary with one verdict, as a single run would: counters
summed, histograms added bucket by bucket, percentiles recomputed from the merged histograms
(linear interpolation within one bucket, as Prometheus's histogram_quantile; a single run
computes its percentiles the same way), start = earliest, end = latest, thresholds evaluated on
the merged numbers. A DIR stands for its *.json files; - reads stdin, where every line that
starts with {"format": is a summary (a shard run with --summary-json -) and every other line is
skipped: the logs of the pods of a Kubernetes Indexed Job, piped from kubectl logs.

It refuses, in one line (exit 2), summaries of different URLs, formats or bucket layouts, the
same shard twice, an empty directory or a file that is not summary JSON; shards missing from
0..N-1 are a warning. Exit codes: 0 every threshold passed, 1 a threshold failed, 2 bad input.`,
		Example: `  go-ffmpeg-hls-swarm merge --threshold 'error_rate<0.01' --summary-json all.json shard-*.json
  go-ffmpeg-hls-swarm merge summaries/
  kubectl logs -l batch.kubernetes.io/job-name=hls-swarm --tail=-1 --max-log-requests=10 | go-ffmpeg-hls-swarm merge -`,
		Args:          cobra.MinimumNArgs(1),
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Stdin, o.Stdout, o.Stderr = cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr()
			_, err := loadtest.Merge(args, o)
			return err
		},
	}
	cmd.Flags().StringArrayVar(&o.Thresholds, "threshold", nil, "pass/fail condition on the merged numbers, as for a run (repeatable)")
	cmd.Flags().StringVar(&o.SummaryJSON, "summary-json", "", "also write the merged summary as JSON to this file")
	return cmd
}

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/profiles"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/config"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/loadtest"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/version"
)

func newRootCmd() *cobra.Command {
	var s config.Settings
	cmd := &cobra.Command{
		Use:   "go-ffmpeg-hls-swarm [flags] URL",
		Short: "Load-test a live HLS stream with a supervised swarm of FFmpeg clients",
		Long: `go-ffmpeg-hls-swarm starts a swarm of FFmpeg clients against a live HLS URL, ramps them up,
restarts the ones that fail, exports what they see on /metrics (Prometheus), and ends with a
summary and a verdict: the exit code is non-zero when a --threshold fails. In a terminal
a live dashboard shows the run (q stops it like SIGTERM); otherwise a status line on stderr
every --progress-interval.

Every flag can also come from the environment (SWARM_<FLAG>, e.g. SWARM_RAMP_JITTER=50ms; the
seed's CLIENTS, DURATION, RAMP_RATE, METRICS_PORT, LOG_LEVEL and STREAM_URL work too).
Precedence: flag > environment > --profile > built-in default. Single-dash long flags
(-clients 10) work as in the original tool.

Exit codes: 0 ok, 1 a threshold or --check failed, 2 invalid flags/env/URL, 3 preflight failed
(ffmpeg, origin, ulimits, metrics port), 4 the run failed. SIGINT/SIGTERM stop the swarm
gracefully and print the summary (exit 0 or 1 by thresholds); a second signal exits at once.`,
		Example: `  # 10 clients for 30 s against a local origin
  go-ffmpeg-hls-swarm --clients 10 --duration 30s http://127.0.0.1:8080/stream.m3u8

  # the original single-dash form
  go-ffmpeg-hls-swarm -clients 10 -duration 30s http://127.0.0.1:8080/stream.m3u8

  # a profile, with a verdict for CI and a JSON summary
  go-ffmpeg-hls-swarm --profile stress --duration 2m \
    --threshold 'error_rate<0.01' --threshold 'startup_p95<3s' --summary-json summary.json URL

  # a time series as it goes and an HTML report at the end; the report again, later
  go-ffmpeg-hls-swarm --duration 2m --timeseries run.ndjson --report report.html URL
  go-ffmpeg-hls-swarm report run.ndjson -o report.html

  # from the environment (containers, Kubernetes)
  CLIENTS=100 DURATION=60s STREAM_URL=http://origin:8080/stream.m3u8 go-ffmpeg-hls-swarm

  # is the stream playable? one client for 10 s
  go-ffmpeg-hls-swarm --check http://127.0.0.1:8080/stream.m3u8

  # the FFmpeg command each client runs
  go-ffmpeg-hls-swarm --print-cmd http://127.0.0.1:8080/stream.m3u8

  # shard 1 of 3 of a 300-client test (runs 100), every shard ramping at the same time;
  # then one verdict: go-ffmpeg-hls-swarm merge --threshold 'error_rate<0.01' shard-*.json
  go-ffmpeg-hls-swarm --clients 300 --shard 1/3 --start-at 2026-11-27T22:00:00Z \
    --summary-json shard-1.json URL`,
		Version:       version.String(),
		Args:          cobra.ArbitraryArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			set, err := profiles.Load()
			if err != nil {
				return &loadtest.Error{Code: loadtest.ExitRuntime, Err: err}
			}
			if err := config.Resolve(cmd.Flags(), &s, args, os.LookupEnv, set); err != nil {
				return &loadtest.Error{Code: loadtest.ExitUsage, Err: err}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			go func() {
				<-ctx.Done()
				stop() // a second signal ends the process at once (clients die with it: Pdeathsig)
			}()
			_, err = loadtest.Run(ctx, s, loadtest.Options{Stdin: cmd.InOrStdin(), Stdout: cmd.OutOrStdout(), Stderr: cmd.ErrOrStderr(), Version: version.String()})
			return err
		},
	}
	config.AddFlags(cmd.Flags(), &s)
	_ = cmd.RegisterFlagCompletionFunc("profile", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		set, err := profiles.Load()
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		return set.SwarmNames(), cobra.ShellCompDirectiveNoFileComp
	})
	fixed := map[string][]string{"variant": config.Variants, "log-level": config.LogLevels, "log-format": config.LogFormats}
	for name, values := range fixed {
		_ = cmd.RegisterFlagCompletionFunc(name, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp))
	}
	return cmd
}

// execute runs the command tree on args and returns the process exit code. It first rewrites
// the seed's single-dash long flags (-clients 10) to --clients 10.
func execute(root *cobra.Command, args []string) int {
	root.SetArgs(config.NormalizeArgs(args, longFlagNames(root)))
	err := root.ExecuteContext(context.Background())
	if err == nil {
		return 0
	}
	var le *loadtest.Error
	if errors.As(err, &le) {
		// one line: an engine may join several problems with newlines
		fmt.Fprintln(os.Stderr, "go-ffmpeg-hls-swarm:", strings.ReplaceAll(le.Err.Error(), "\n", "; "))
		return le.Code
	}
	fmt.Fprintf(os.Stderr, "go-ffmpeg-hls-swarm: %v (see --help)\n", config.FlagError(err))
	return loadtest.ExitUsage
}

// longFlagNames lists every long flag in the command tree, for NormalizeArgs.
func longFlagNames(root *cobra.Command) []string {
	names := []string{"help", "version"}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		add := func(f *pflag.Flag) { names = append(names, f.Name) }
		c.LocalFlags().VisitAll(add)
		c.PersistentFlags().VisitAll(add)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return names
}

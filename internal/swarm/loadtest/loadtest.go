// Package loadtest runs one swarm load test from effective settings to verdict: preflight,
// metrics server, engine, summary, thresholds, and the process exit code.
package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/shellquote"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/config"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/event"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/htmlreport"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/liveview"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/metrics"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/orchestrator"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/report"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/timeseries"
)

// Exit codes of a swarm run (docs/reference/cli.md lists them for users).
const (
	// ExitOK: the run ended (its duration passed, or SIGINT/SIGTERM stopped it) and every
	// threshold passed; with --check, the one client passed; --print-cmd printed.
	ExitOK = 0
	// ExitThresholds: the run ended but a threshold failed (or --check failed).
	ExitThresholds = 1
	// ExitUsage: a flag, environment variable, profile, threshold or URL is invalid. No client started.
	ExitUsage = 2
	// ExitPreflight: this machine or the origin is not ready (ffmpeg missing or unusable, URL
	// unreachable, ulimits too low, metrics port taken). No client started.
	ExitPreflight = 3
	// ExitRuntime: the run failed while running, or its summary could not be written.
	ExitRuntime = 4
)

// checkThresholds decide --check: the one client received a segment (a start-up sample exists), saw
// no error and never restarted.
var checkThresholds = []string{"startup_max<=10s", "errors==0", "restarts==0"}

// Options are what a run needs besides its settings.
type Options struct {
	// Stdin gives the dashboard its keys.
	Stdin  io.Reader
	Stdout io.Writer
	// Stderr gets the status line every --progress-interval (nil or --quiet: none), or the
	// live dashboard when Stdin and Stderr are a terminal (--dashboard).
	Stderr io.Writer
	// Logger, when nil, is the settings' logger on Stderr (held back while a dashboard runs
	// and written when it closes).
	Logger  *slog.Logger
	Version string
}

// Error is an error with the exit code it should end the process with.
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func fail(code int, err error) (int, error) { return code, &Error{Code: code, Err: err} }

// EngineConfig maps settings to the engine's configuration.
func EngineConfig(s config.Settings, logger *slog.Logger) orchestrator.Config {
	return orchestrator.Config{
		URL: s.URL, Clients: s.Clients, RampRate: s.RampRate, RampJitter: s.RampJitter, Duration: s.Duration,
		Variant: s.Variant, FFmpegPath: s.FFmpegPath, Timeout: s.Timeout, Reconnect: s.Reconnect,
		ReconnectDelayMax: s.ReconnectDelayMax, SegmentRetries: s.SegmentRetries, UserAgent: s.UserAgent,
		Headers: s.Headers, CAFile: s.CAFile, Insecure: s.Insecure, GracePeriod: s.GracePeriod,
		FFmpegLogLevel: s.FFmpegLogLevel, Logger: logger, Seed: s.Seed,
	}
}

// Run runs the load test the settings describe and returns the process exit code. A non-nil
// error is the one line to show the user (its code is the returned code). ctx ending (SIGINT or
// SIGTERM) stops the swarm gracefully; the summary is still printed.
func Run(ctx context.Context, s config.Settings, o Options) (int, error) {
	var logs *liveview.Logs
	log := o.Logger
	if log == nil {
		logs = liveview.NewLogs(o.Stderr)
		log = s.NewLogger(logs)
	}
	exprs := s.Thresholds
	if s.Check {
		exprs = append(append([]string{}, checkThresholds...), exprs...)
	}
	thresholds, err := report.ParseThresholds(exprs)
	if err != nil {
		return fail(ExitUsage, fmt.Errorf("--threshold: %w", err))
	}
	if s.SummaryJSON != "" && s.SummaryJSON != "-" {
		if err := report.CheckPath("--summary-json", s.SummaryJSON); err != nil {
			return fail(ExitUsage, err)
		}
	}
	if s.Timeseries != "" {
		if err := report.CheckPath("--timeseries", s.Timeseries); err != nil {
			return fail(ExitUsage, err)
		}
	}
	if s.Report != "" {
		if err := report.CheckPath("--report", s.Report); err != nil {
			return fail(ExitUsage, err)
		}
	}
	ec := EngineConfig(s, log)
	if err := ec.Validate(); err != nil {
		return fail(ExitUsage, err)
	}
	if s.PrintCmd {
		argv, err := orchestrator.CommandLine(ctx, ec)
		if err != nil {
			return fail(ExitPreflight, err)
		}
		fmt.Fprintln(o.Stdout, shellquote.Join(argv))
		return ExitOK, nil
	}
	preflightStart := time.Now()
	if err := orchestrator.Preflight(ctx, ec); err != nil {
		return fail(ExitPreflight, err)
	}
	preflightTook := time.Since(preflightStart)

	col := metrics.New(o.Version)
	col.SetTarget(s.Clients)
	if !s.Check {
		srv, err := metrics.Listen(s.ListenAddr(), col)
		if err != nil {
			return fail(ExitPreflight, err)
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if err := srv.Shutdown(sctx); err != nil {
				log.Warn("metrics server stop", "err", err)
			}
		}()
		log.Info("metrics listening", "addr", srv.Addr().String(), "paths", "/metrics /healthz /readyz")
	}

	if s.Check {
		log.Info("check: preflight done; now one client for a fixed time, then a verdict (stopping it takes at most the grace period more)",
			"preflight_took", preflightTook.Round(time.Millisecond).String(), "duration", s.Duration.String(),
			"grace_period", s.GracePeriod.String(), "pass_if", strings.Join(checkThresholds, ", "))
	}
	log.Info("effective settings", s.LogAttrs()...)
	var outputs []timeseries.Output
	var file *timeseries.File
	if s.Timeseries != "" {
		if file, err = timeseries.Create(s.Timeseries); err != nil {
			return fail(ExitRuntime, err)
		}
		defer file.Close()
		outputs = append(outputs, file)
	}
	dashboard := o.Stderr != nil && !s.Quiet && s.Dashboard && liveview.Usable(o.Stdin, o.Stderr)
	if o.Stderr != nil && !s.Quiet && !dashboard {
		outputs = append(outputs, timeseries.StatusWriter(o.Stderr))
	}
	// --report: the records, kept for the report written at the end.
	var recorded []timeseries.Record
	if s.Report != "" {
		outputs = append(outputs, timeseries.OutputFunc(func(r timeseries.Record) error {
			recorded = append(recorded, r)
			return nil
		}))
	}
	waitForStart(ctx, log, s.StartTime)
	// q or Ctrl-C in the dashboard cancels runCtx: the same graceful stop as SIGINT/SIGTERM.
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	started := time.Now()
	header := timeseries.Header{Version: o.Version, URL: s.URL, Started: started.UTC(),
		DurationSeconds: s.Duration.Seconds(), IntervalSeconds: s.ProgressInterval.Seconds(), Thresholds: exprs,
		Settings: EffectiveSettings(s)}
	if file != nil {
		if err := file.WriteHeader(header); err != nil {
			return fail(ExitRuntime, fmt.Errorf("--timeseries %s: %w", s.Timeseries, err))
		}
	}
	var view *liveview.View
	if dashboard {
		view = liveview.Start(liveview.Options{In: o.Stdin, Out: o.Stderr, URL: s.URL, Start: started,
			Duration: s.Duration, Interval: s.ProgressInterval, Stop: stopRun, Logs: logs})
		defer view.Close()
		defer context.AfterFunc(runCtx, view.Stopping)()
		outputs = append(outputs, view)
	}
	series := timeseries.Start(started, s.Duration, s.ProgressInterval, col.Snapshot, outputs...)
	runErr := orchestrator.Run(runCtx, ec, event.Sink(col))
	ended := time.Now()
	series.Stop() // before the final snapshot: the records' intervals add up to it
	interrupted := runCtx.Err() != nil
	if interrupted && errors.Is(runErr, context.Canceled) {
		runErr = nil
	}
	if interrupted {
		log.Info("stopped by a signal or q", "after", ended.Sub(started).Round(time.Millisecond))
	}

	snap, err := col.Snapshot()
	if err != nil {
		return fail(ExitRuntime, err)
	}
	run := report.Run{URL: s.URL, Version: o.Version, Started: started, Ended: ended, Interrupted: interrupted}
	if s.ShardCount > 0 {
		run.Shard = &report.Shard{Index: s.ShardIndex, Count: s.ShardCount}
	}
	sum := report.New(run, snap, thresholds)
	if err := series.Final(snap, ended); err != nil {
		if s.Timeseries != "" {
			err = fmt.Errorf("--timeseries %s: %w", s.Timeseries, err)
		}
		if runErr == nil {
			runErr = err
		}
	}
	if file != nil {
		if err := file.WriteSummary(sum); err != nil && runErr == nil {
			runErr = fmt.Errorf("--timeseries %s: %w", s.Timeseries, err)
		}
	}
	if view != nil {
		if err := view.Close(); err != nil {
			log.Warn("dashboard", "err", err)
		}
	}
	if err := sum.WriteTable(o.Stdout); err != nil {
		return fail(ExitRuntime, fmt.Errorf("print summary: %w", err))
	}
	if s.SummaryJSON != "" && s.SummaryJSON != "-" {
		if err := sum.WriteJSONFile(s.SummaryJSON); err != nil {
			return fail(ExitRuntime, err)
		}
	}
	if s.Report != "" {
		if err := htmlreport.WriteFile(s.Report, timeseries.Run{Header: &header, Records: recorded, Summary: &sum}); err != nil {
			return fail(ExitRuntime, err)
		}
		log.Info("report written", "path", s.Report, "records", len(recorded))
	}
	if s.Check {
		verdict := "PASS"
		if !sum.Pass {
			verdict = "FAIL"
		}
		fmt.Fprintf(o.Stdout, "check: %s (%s)\n", verdict, strings.Join(checkThresholds, ", "))
	}
	if s.MetricsLinger > 0 && !s.Check && !interrupted {
		log.Info("run over; metrics stay up for a final scrape", "linger", s.MetricsLinger)
		t := time.NewTimer(s.MetricsLinger)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
	if s.SummaryJSON == "-" {
		// The run's last output, one line on stdout: `kubectl logs` of the shards is what
		// merge - reads, and nothing else is written while the container runtime copies it.
		if err := sum.WriteJSONLine(o.Stdout); err != nil {
			return fail(ExitRuntime, err)
		}
	}
	if runErr != nil {
		return fail(ExitRuntime, fmt.Errorf("swarm run: %w", runErr))
	}
	if !sum.Pass {
		return fail(ExitThresholds, errors.New(failedSummary(sum)))
	}
	return ExitOK, nil
}

// waitForStart waits until at (--start-at; zero: not at all) or until ctx ends (a signal: the
// run then starts and stops at once, and prints its empty summary). A time already passed
// (a slow preflight) is logged and the ramp starts now.
func waitForStart(ctx context.Context, log *slog.Logger, at time.Time) {
	if at.IsZero() {
		return
	}
	d := time.Until(at)
	if d <= 0 {
		log.Warn("--start-at has passed; ramping now", "start_at", at.Format(time.RFC3339Nano), "late_by", (-d).Round(time.Millisecond).String())
		return
	}
	log.Info("waiting for --start-at before ramping", "start_at", at.Format(time.RFC3339Nano), "in", d.Round(time.Millisecond).String())
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func failedSummary(sum report.Summary) string {
	var failed []string
	for _, r := range sum.Thresholds {
		if !r.Pass {
			failed = append(failed, r.Threshold)
		}
	}
	return "thresholds failed: " + strings.Join(failed, ", ")
}

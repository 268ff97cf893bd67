// Package config resolves a swarm run's effective settings from flags, the environment, a
// swarm-client profile and built-in defaults, in that order of precedence.
package config

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Settings are the effective settings of one swarm run.
type Settings struct {
	URL               string
	Profile           string
	Clients           int
	RampRate          float64
	RampJitter        time.Duration
	Duration          time.Duration // 0 = until interrupted
	Variant           string
	FFmpegPath        string
	FFmpegLogLevel    string // "" = the engine's choice
	Timeout           time.Duration
	Reconnect         bool
	ReconnectDelayMax time.Duration
	SegmentRetries    int
	UserAgent         string
	Headers           []string
	CAFile            string // extra CA certificates for an https origin
	Insecure          bool   // do not verify an https origin's certificate
	GracePeriod       time.Duration
	MetricsPort       int
	MetricsAddr       string // host:port; overrides MetricsPort when set
	MetricsLinger     time.Duration
	LogLevel          string
	LogFormat         string
	Thresholds        []string
	SummaryJSON       string
	// Timeseries is --timeseries: a file of one record per ProgressInterval (NDJSON, or CSV
	// when it ends in .csv). Quiet turns the status line on stderr off, and the dashboard.
	Timeseries string
	// Report is --report: the HTML report written at the end of the run.
	Report           string
	ProgressInterval time.Duration
	Quiet            bool
	// Dashboard: draw the live dashboard instead of the status line when stdin and stderr are
	// a terminal.
	Dashboard bool
	PrintCmd  bool
	Check     bool
	Seed      int64
	// Shard is --shard as given ("I/N", "" = not sharded); ShardIndex and ShardCount are its
	// parsed value (ShardCount 0 = not sharded). Clients and RampRate are this shard's share.
	Shard                  string
	ShardIndex, ShardCount int
	// StartAt is --start-at as given (RFC 3339, "" = at once); StartTime its parsed value.
	StartAt   string
	StartTime time.Time

	// Sources says where each flag's value came from: "flag", "env NAME", "profile NAME" or "default".
	Sources map[string]string
}

// Variants, log levels and log formats accepted by the settings.
var (
	Variants   = []string{"all", "first", "highest", "lowest"}
	LogLevels  = []string{"debug", "info", "warn", "warning", "error"}
	LogFormats = []string{"text", "json"}
)

// MinProgressInterval is the shortest --progress-interval.
const MinProgressInterval = 100 * time.Millisecond

// CheckDuration is how long --check runs its one client.
const CheckDuration = 10 * time.Second

// ListenAddr is where the metrics server listens: MetricsAddr, or all interfaces on MetricsPort.
func (s Settings) ListenAddr() string {
	if s.MetricsAddr != "" {
		return s.MetricsAddr
	}
	return ":" + strconv.Itoa(s.MetricsPort)
}

// Validate checks the settings that belong to this process (metrics server, logging, the FFmpeg
// program's name) and returns one line saying what is wrong and how to fix it. The engine's
// settings (URL, clients, ramp, duration, variant, timeouts, reconnects, headers, grace period)
// have one validator, orchestrator.Config.Validate, which the run calls before anything starts
// (loadtest.Run: exit 2 like these).
func (s Settings) Validate() error {
	switch {
	case s.MetricsAddr == "" && (s.MetricsPort < 0 || s.MetricsPort > 65535):
		return fmt.Errorf("--metrics-port %d: must be 0..65535 (0 picks a free port, logged at start)", s.MetricsPort)
	case s.MetricsLinger < 0:
		return fmt.Errorf("--metrics-linger %s: must not be negative", s.MetricsLinger)
	case s.ProgressInterval < MinProgressInterval:
		return fmt.Errorf("--progress-interval %s: give at least %s", s.ProgressInterval, MinProgressInterval)
	case s.FFmpegPath == "":
		return fmt.Errorf("--ffmpeg is empty: name the ffmpeg program or its path")
	}
	if s.MetricsAddr != "" {
		if _, port, err := net.SplitHostPort(s.MetricsAddr); err != nil || port == "" {
			return fmt.Errorf("--metrics-addr %q: want HOST:PORT such as 127.0.0.1:9100 or :9100", s.MetricsAddr)
		}
	}
	if err := oneOf("--log-level", s.LogLevel, LogLevels); err != nil {
		return err
	}
	if err := oneOf("--log-format", s.LogFormat, LogFormats); err != nil {
		return err
	}
	return nil
}

func oneOf(flag, v string, valid []string) error {
	if slices.Contains(valid, v) {
		return nil
	}
	return fmt.Errorf("%s %q: must be one of %s", flag, v, strings.Join(valid, ", "))
}

// SlogLevel maps LogLevel to a slog level.
func (s Settings) SlogLevel() slog.Level {
	switch s.LogLevel {
	case "debug":
		return slog.LevelDebug
	case "warn", "warning":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// LogAttrs describes the settings for the one "effective settings" log line: their values,
// and where each value that is not a built-in default came from.
func (s Settings) LogAttrs() []any {
	values := []any{
		"url", s.URL, "profile", s.Profile, "clients", s.Clients, "ramp_rate", s.RampRate,
		"ramp_jitter", s.RampJitter.String(), "duration", s.Duration.String(), "variant", s.Variant, "ffmpeg", s.FFmpegPath,
		"timeout", s.Timeout.String(), "reconnect", s.Reconnect, "reconnect_delay_max", s.ReconnectDelayMax.String(),
		"segment_retries", s.SegmentRetries, "user_agent", s.UserAgent, "headers", len(s.Headers),
		"ca_file", s.CAFile, "insecure", s.Insecure,
		"grace_period", s.GracePeriod.String(), "metrics_addr", s.ListenAddr(),
		"metrics_linger", s.MetricsLinger.String(),
		"log_level", s.LogLevel, "log_format", s.LogFormat, "thresholds", s.Thresholds,
		"summary_json", s.SummaryJSON,
		"timeseries", s.Timeseries, "report", s.Report, "progress_interval", s.ProgressInterval.String(), "quiet", s.Quiet, "dashboard", s.Dashboard, "check", s.Check, "shard", s.Shard, "start_at", s.StartAt,
	}
	names := make([]string, 0, len(s.Sources))
	for n, src := range s.Sources {
		if src != "default" {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	from := make([]any, 0, 2*len(names))
	for _, n := range names {
		from = append(from, n, s.Sources[n])
	}
	return []any{slog.Group("settings", values...), slog.Group("from", from...)}
}

// NewLogger returns the run's logger: text or JSON on w at the settings' level.
func (s Settings) NewLogger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: s.SlogLevel()}
	if s.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

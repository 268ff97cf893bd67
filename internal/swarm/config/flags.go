package config

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/profiles"
)

// EnvPrefix prefixes the environment variable of every flag: --ramp-jitter ↔ SWARM_RAMP_JITTER.
const EnvPrefix = "SWARM_"

// Built-in defaults for settings that no profile sets.
const (
	DefaultProfile     = "default"
	DefaultMetricsPort = 9100
	DefaultFFmpeg      = "ffmpeg"
	DefaultGrace       = 3 * time.Second
	DefaultLogFormat   = "text"
	DefaultProgress    = 5 * time.Second
)

// Binding ties one flag to its environment variables and, where a profile sets it, to the
// profile's value. The environment variables are looked up in order; the first set one wins.
type Binding struct {
	Flag    string
	Env     []string
	Profile func(profiles.Swarm) string // nil: no profile sets this flag
}

// seedEnv are the bare environment names the seed's containers use, kept as aliases.
var seedEnv = map[string]string{
	"clients": "CLIENTS", "duration": "DURATION", "ramp-rate": "RAMP_RATE",
	"metrics-port": "METRICS_PORT", "log-level": "LOG_LEVEL",
}

// profileValue gives, for each flag a swarm-client profile sets, that value as flag text.
var profileValue = map[string]func(profiles.Swarm) string{
	"clients":             func(p profiles.Swarm) string { return strconv.Itoa(p.Clients) },
	"ramp-rate":           func(p profiles.Swarm) string { return strconv.FormatFloat(p.RampRate, 'g', -1, 64) },
	"ramp-jitter":         func(p profiles.Swarm) string { return time.Duration(p.RampJitter).String() },
	"variant":             func(p profiles.Swarm) string { return p.Variant },
	"reconnect":           func(p profiles.Swarm) string { return strconv.FormatBool(p.Reconnect) },
	"reconnect-delay-max": func(p profiles.Swarm) string { return time.Duration(p.ReconnectDelayMax).String() },
	"segment-retries":     func(p profiles.Swarm) string { return strconv.Itoa(p.SegmentRetries) },
	"timeout":             func(p profiles.Swarm) string { return time.Duration(p.Timeout).String() },
	"log-level":           func(p profiles.Swarm) string { return p.LogLevel },
}

// EnvName is the SWARM_* name of a flag.
func EnvName(prefix, flag string) string {
	return prefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// AddFlags defines the swarm's flags on fs, bound to s.
func AddFlags(fs *pflag.FlagSet, s *Settings) {
	fs.StringVar(&s.Profile, "profile", DefaultProfile, "swarm-client profile: the defaults for clients, ramp, variant, reconnects, timeout and log level")
	fs.IntVarP(&s.Clients, "clients", "c", 0, "number of clients (FFmpeg processes) to run (profile default: 50)")
	fs.Float64Var(&s.RampRate, "ramp-rate", 0, "clients started per second; 0 starts them all at once (profile default: 5)")
	fs.DurationVar(&s.RampJitter, "ramp-jitter", 0, "random extra delay up to this much before each client start (profile default: 100ms)")
	fs.DurationVarP(&s.Duration, "duration", "d", 0, "how long to run after the ramp starts; 0 runs until SIGINT/SIGTERM")
	fs.StringVar(&s.Variant, "variant", "", "which renditions each client reads: "+strings.Join(Variants, "|")+" (profile default: all)")
	fs.StringVar(&s.FFmpegPath, "ffmpeg", DefaultFFmpeg, "ffmpeg program name or path")
	fs.StringVar(&s.FFmpegLogLevel, "ffmpeg-log-level", "", "FFmpeg -loglevel for clients (default: the lowest level the engine can parse)")
	fs.DurationVar(&s.Timeout, "timeout", 0, "network timeout of each client read or write (FFmpeg -rw_timeout); 0: none, FFmpeg waits indefinitely (profile default: 15s)")
	fs.BoolVar(&s.Reconnect, "reconnect", false, "let FFmpeg reconnect on network errors (profile default: true)")
	fs.DurationVar(&s.ReconnectDelayMax, "reconnect-delay-max", 0, "longest FFmpeg reconnect delay (profile default: 5s)")
	fs.IntVar(&s.SegmentRetries, "segment-retries", 0, "retries of a failed segment, where FFmpeg supports it (profile default: 3)")
	fs.StringVar(&s.UserAgent, "user-agent", "", "HTTP User-Agent of the clients (default: FFmpeg's)")
	fs.StringArrayVar(&s.Headers, "header", nil, "extra HTTP header \"Name: value\" sent by every client (repeatable)")
	fs.StringVar(&s.CAFile, "ca-file", "", "PEM file of CA certificates that sign an https origin's certificate (added to the system's roots)")
	fs.BoolVar(&s.Insecure, "insecure", false, "do not verify an https origin's certificate")
	fs.DurationVar(&s.GracePeriod, "grace-period", DefaultGrace, "at stop, how long clients get after SIGTERM before SIGKILL")
	fs.IntVar(&s.MetricsPort, "metrics-port", DefaultMetricsPort, "port of /metrics, /healthz and /readyz on all interfaces (0: a free port, logged at start)")
	fs.StringVar(&s.MetricsAddr, "metrics-addr", "", "HOST:PORT of the metrics server (overrides --metrics-port)")
	fs.DurationVar(&s.MetricsLinger, "metrics-linger", 0, "keep serving /metrics this long after the run ends, for a final scrape (a signal ends it early)")
	fs.StringVar(&s.LogLevel, "log-level", "", "log level: "+strings.Join(LogLevels, "|")+" (profile default: info)")
	fs.StringVar(&s.LogFormat, "log-format", DefaultLogFormat, "log format: "+strings.Join(LogFormats, "|"))
	fs.StringArrayVar(&s.Thresholds, "threshold", nil, "pass/fail condition such as 'error_rate<0.01' or 'startup_p95<3s' (repeatable)")
	fs.StringVar(&s.SummaryJSON, "summary-json", "", "also write the end-of-run summary as JSON to this file (-: one line on stdout, the run's last output, for merge -)")
	fs.StringVar(&s.Timeseries, "timeseries", "", "write one record per --progress-interval to this file as it goes: NDJSON, or CSV when the name ends in .csv")
	fs.StringVar(&s.Report, "report", "", "at the end, write a self-contained HTML report (verdict, settings, charts over time) to this file")
	fs.DurationVar(&s.ProgressInterval, "progress-interval", DefaultProgress, "interval of the status line on stderr (or the dashboard) and of the --timeseries records")
	fs.BoolVar(&s.Quiet, "quiet", false, "no status line or dashboard on stderr")
	fs.BoolVar(&s.Dashboard, "dashboard", true, "when stdin and stderr are a terminal, a live dashboard instead of the status line (q or Ctrl-C stops the run)")
	fs.BoolVar(&s.PrintCmd, "print-cmd", false, "print the FFmpeg command line of one client and exit")
	fs.BoolVar(&s.Check, "check", false, "run one client for 10s (stopping it takes at most --grace-period more) and report pass/fail; not with --clients or --duration")
	fs.Int64Var(&s.Seed, "seed", 0, "random seed for ramp jitter and backoff (0: a random seed)")
	fs.StringVar(&s.Shard, "shard", "", "run shard I of N (I/N, I from 0) of a load test split over N machines: this shard's share of --clients and --ramp-rate (default from "+JobIndexEnv+" and "+ShardCountEnv+")")
	fs.StringVar(&s.StartAt, "start-at", "", "wait until this time (RFC 3339, e.g. 2026-11-27T21:30:00Z) before ramping, so every shard starts together")
}

// Bindings lists, for every flag in fs, its environment variables and profile value.
func Bindings(fs *pflag.FlagSet, prefix string) []Binding {
	var out []Binding
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Name == "help" || f.Name == "version" {
			return
		}
		b := Binding{Flag: f.Name, Env: []string{EnvName(prefix, f.Name)}, Profile: profileValue[f.Name]}
		if alias, ok := seedEnv[f.Name]; ok && prefix == EnvPrefix {
			b.Env = append(b.Env, alias)
		}
		out = append(out, b)
	})
	return out
}

// Env looks up an environment variable: os.LookupEnv in production, a map in tests.
type Env func(name string) (string, bool)

// ApplyEnv sets every flag of fs that was not given on the command line from its environment
// variable, and returns where each flag's value came from ("flag", "env NAME" or "default").
// A repeatable flag takes one value per line of its variable (thresholds also split on commas).
func ApplyEnv(fs *pflag.FlagSet, prefix string, env Env) (map[string]string, error) {
	sources := map[string]string{}
	for _, b := range Bindings(fs, prefix) {
		if fs.Changed(b.Flag) {
			sources[b.Flag] = "flag"
			continue
		}
		sources[b.Flag] = "default"
		for _, name := range b.Env {
			v, ok := env(name)
			if !ok || v == "" {
				continue
			}
			if err := setFromText(fs, b.Flag, v); err != nil {
				return nil, fmt.Errorf("environment %s=%q: %w", name, v, err)
			}
			sources[b.Flag] = "env " + name
			break
		}
	}
	return sources, nil
}

func setFromText(fs *pflag.FlagSet, flag, v string) error {
	f := fs.Lookup(flag)
	values := []string{v}
	if f.Value.Type() == "stringArray" {
		sep := "\n"
		if flag == "threshold" {
			sep = "\n,"
		}
		values = strings.FieldsFunc(v, func(r rune) bool { return strings.ContainsRune(sep, r) })
	}
	for _, x := range values {
		if err := fs.Set(flag, strings.TrimSpace(x)); err != nil {
			return fmt.Errorf("invalid value for --%s: %w", flag, err)
		}
	}
	return nil
}

// Resolve completes s after fs has parsed the command line: environment, then the profile
// (from --profile, SWARM_PROFILE or "default"), then built-in defaults; then the stream URL from
// args or STREAM_URL / SWARM_URL. It validates the result.
func Resolve(fs *pflag.FlagSet, s *Settings, args []string, env Env, set *profiles.Set) error {
	sources, err := ApplyEnv(fs, EnvPrefix, env)
	if err != nil {
		return err
	}
	p, err := set.Swarm(s.Profile)
	if err != nil {
		return fmt.Errorf("--profile: %w", err)
	}
	for _, b := range Bindings(fs, EnvPrefix) {
		if sources[b.Flag] != "default" || b.Profile == nil {
			continue
		}
		v := b.Profile(p)
		if err := fs.Set(b.Flag, v); err != nil {
			return fmt.Errorf("profile %s sets %s=%q: %w", p.Name, b.Flag, v, err)
		}
		sources[b.Flag] = "profile " + p.Name
	}
	s.Sources = sources

	switch {
	case len(args) > 1:
		return fmt.Errorf("want one stream URL, got %d arguments (%s): quote the URL or put flags before it", len(args), strings.Join(args, " "))
	case len(args) == 1:
		s.URL = args[0]
		s.Sources["url"] = "argument"
	default:
		for _, name := range []string{EnvPrefix + "URL", "STREAM_URL"} {
			if v, ok := env(name); ok && v != "" {
				s.URL, s.Sources["url"] = v, "env "+name
				break
			}
		}
	}
	if s.Check {
		// --check is one client for CheckDuration: a --clients or --duration given with it would be
		// silently ignored, so it is refused instead.
		for _, f := range []string{"clients", "duration"} {
			if src := s.Sources[f]; src == "flag" || strings.HasPrefix(src, "env ") {
				return fmt.Errorf("--check runs 1 client for %s, so --%s (set by %s) would be ignored: drop one of the two", CheckDuration, f, src)
			}
		}
		s.Clients, s.Duration = 1, CheckDuration
		s.Sources["clients"], s.Sources["duration"] = "check", "check"
	}
	if err := resolveShard(s, env); err != nil {
		return err
	}
	if err := resolveStartAt(s, time.Now()); err != nil {
		return err
	}
	return s.Validate()
}

// NormalizeArgs rewrites the seed's single-dash long flags to cobra's double-dash form:
// "-clients 10" becomes "--clients 10" and "-duration=30s" becomes "--duration=30s" when the
// word is one of long. Shorthands ("-c"), unknown words and everything after "--" are left alone.
func NormalizeArgs(args []string, long []string) []string {
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		if len(a) > 2 && a[0] == '-' && a[1] != '-' {
			word, _, _ := strings.Cut(a[1:], "=")
			if len(word) > 1 && slices.Contains(long, word) {
				a = "-" + a
			}
		}
		out = append(out, a)
	}
	return out
}

// unknownShorthand is pflag's error for a single-dash word that is not a long flag and whose first
// letter is not a shorthand: "unknown shorthand flag: 'b' in -bogus".
var unknownShorthand = regexp.MustCompile(`^unknown shorthand flag: '.' in (-[^\s=]{2,})`)

// FlagError rewrites the command-line parser's error for an unknown single-dash word (-bogus,
// which pflag reads as the shorthand -b) into one line that names the word; other errors pass.
func FlagError(err error) error {
	if err == nil {
		return nil
	}
	if m := unknownShorthand.FindStringSubmatch(err.Error()); m != nil {
		return fmt.Errorf("unknown flag %s: flags are --name (the single-dash -name works only for flags that exist)", m[1])
	}
	return err
}

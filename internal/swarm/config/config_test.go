package config

import (
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/profiles"
)

const testURL = "http://127.0.0.1:8080/stream.m3u8"

func resolve(t *testing.T, args []string, env map[string]string) (Settings, error) {
	t.Helper()
	set, err := profiles.Load()
	if err != nil {
		t.Fatal(err)
	}
	var s Settings
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	AddFlags(fs, &s)
	if err := fs.Parse(args); err != nil {
		return s, err
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	err = Resolve(fs, &s, fs.Args(), lookup, set)
	return s, err
}

func TestPrecedence(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		clients int
		source  string
		jitter  time.Duration
		variant string
	}{
		{name: "default profile", args: []string{testURL}, clients: 50, source: "profile default", jitter: 100 * time.Millisecond, variant: "all"},
		{name: "named profile", args: []string{"--profile", "gentle", testURL}, clients: 20, source: "profile gentle", jitter: 500 * time.Millisecond, variant: "first"},
		{name: "profile from env", args: []string{testURL}, env: map[string]string{"SWARM_PROFILE": "stress"}, clients: 200, source: "profile stress", jitter: 50 * time.Millisecond, variant: "all"},
		{name: "seed env over profile", args: []string{"--profile", "gentle", testURL}, env: map[string]string{"CLIENTS": "7"}, clients: 7, source: "env CLIENTS", jitter: 500 * time.Millisecond, variant: "first"},
		{name: "SWARM_ env over seed env", args: []string{testURL}, env: map[string]string{"CLIENTS": "7", "SWARM_CLIENTS": "8"}, clients: 8, source: "env SWARM_CLIENTS", jitter: 100 * time.Millisecond, variant: "all"},
		{name: "flag over env", args: []string{"--clients", "3", "--variant", "lowest", testURL}, env: map[string]string{"CLIENTS": "7", "SWARM_VARIANT": "first"}, clients: 3, source: "flag", jitter: 100 * time.Millisecond, variant: "lowest"},
		{name: "empty env is unset", args: []string{testURL}, env: map[string]string{"CLIENTS": ""}, clients: 50, source: "profile default", jitter: 100 * time.Millisecond, variant: "all"},
		{name: "env for non-seed flag", args: []string{testURL}, env: map[string]string{"SWARM_RAMP_JITTER": "1s"}, clients: 50, source: "profile default", jitter: time.Second, variant: "all"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := resolve(t, tt.args, tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if s.Clients != tt.clients || s.Sources["clients"] != tt.source {
				t.Errorf("clients = %d from %q, want %d from %q", s.Clients, s.Sources["clients"], tt.clients, tt.source)
			}
			if s.RampJitter != tt.jitter || s.Variant != tt.variant {
				t.Errorf("jitter %s variant %s, want %s %s", s.RampJitter, s.Variant, tt.jitter, tt.variant)
			}
		})
	}
}

func TestDefaultsAndEnvTypes(t *testing.T) {
	s, err := resolve(t, nil, map[string]string{
		"STREAM_URL": testURL, "DURATION": "30s", "RAMP_RATE": "2.5", "METRICS_PORT": "9200", "LOG_LEVEL": "debug",
		"SWARM_RECONNECT": "false", "SWARM_HEADER": "X-A: 1\nX-B: 2", "SWARM_THRESHOLD": "error_rate<0.01,segments>=10",
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.URL != testURL || s.Sources["url"] != "env STREAM_URL" {
		t.Errorf("url %q from %q", s.URL, s.Sources["url"])
	}
	if s.Duration != 30*time.Second || s.RampRate != 2.5 || s.MetricsPort != 9200 || s.LogLevel != "debug" || s.Reconnect {
		t.Errorf("env values not applied: %+v", s)
	}
	if s.ListenAddr() != ":9200" {
		t.Errorf("listen addr %q", s.ListenAddr())
	}
	if !slices.Equal(s.Headers, []string{"X-A: 1", "X-B: 2"}) || !slices.Equal(s.Thresholds, []string{"error_rate<0.01", "segments>=10"}) {
		t.Errorf("repeatable values: headers %q thresholds %q", s.Headers, s.Thresholds)
	}
	if s.Timeout != 15*time.Second || s.SegmentRetries != 3 || s.FFmpegPath != "ffmpeg" || s.GracePeriod != DefaultGrace {
		t.Errorf("profile/built-in defaults: %+v", s)
	}
	if s.Sources["grace-period"] != "default" || s.Sources["timeout"] != "profile default" {
		t.Errorf("sources: %v", s.Sources)
	}
}

func TestProgressSettings(t *testing.T) {
	s, err := resolve(t, []string{testURL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.ProgressInterval != DefaultProgress || s.Quiet || s.Timeseries != "" || !s.Dashboard {
		t.Errorf("defaults: interval %s quiet %v timeseries %q dashboard %v", s.ProgressInterval, s.Quiet, s.Timeseries, s.Dashboard)
	}
	env := map[string]string{"SWARM_PROGRESS_INTERVAL": "2s", "SWARM_QUIET": "true", "SWARM_TIMESERIES": "/tmp/run.csv", "SWARM_DASHBOARD": "false"}
	if s, err = resolve(t, []string{testURL}, env); err != nil {
		t.Fatal(err)
	}
	if s.ProgressInterval != 2*time.Second || !s.Quiet || s.Timeseries != "/tmp/run.csv" ||
		s.Sources["progress-interval"] != "env SWARM_PROGRESS_INTERVAL" || s.Sources["quiet"] != "env SWARM_QUIET" ||
		s.Dashboard || s.Sources["dashboard"] != "env SWARM_DASHBOARD" {
		t.Errorf("from env: interval %s quiet %v timeseries %q sources %v", s.ProgressInterval, s.Quiet, s.Timeseries, s.Sources)
	}
	if s, err = resolve(t, []string{"--progress-interval", "1s", "--quiet=false", "--dashboard", "--timeseries", "x.ndjson", testURL}, env); err != nil {
		t.Fatal(err)
	}
	if s.ProgressInterval != time.Second || s.Quiet || s.Timeseries != "x.ndjson" || s.Sources["quiet"] != "flag" || !s.Dashboard {
		t.Errorf("flags over env: interval %s quiet %v timeseries %q", s.ProgressInterval, s.Quiet, s.Timeseries)
	}
}

func TestCheckMode(t *testing.T) {
	s, err := resolve(t, []string{"--check", testURL}, map[string]string{"SWARM_RAMP_RATE": "2"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Clients != 1 || s.Duration != CheckDuration || s.Sources["clients"] != "check" || s.Sources["duration"] != "check" {
		t.Errorf("--check: clients %d duration %s, from %q/%q", s.Clients, s.Duration, s.Sources["clients"], s.Sources["duration"])
	}
	// What --check would silently override is refused, naming where it came from.
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--check", "--clients", "40", testURL}, nil, "--clients (set by flag)"},
		{[]string{"--check", "-d", "3s", testURL}, nil, "--duration (set by flag)"},
		{[]string{"--check", testURL}, map[string]string{"DURATION": "1m"}, "--duration (set by env DURATION)"},
	} {
		if _, err := resolve(t, tc.args, tc.env); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %v: err %v, want it to name %q", tc.args, tc.env, err, tc.want)
		}
	}
}

func TestFlagErrorNamesTheWord(t *testing.T) {
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	var s Settings
	AddFlags(fs, &s)
	fs.SetOutput(io.Discard)
	err := FlagError(fs.Parse([]string{"-bogus"}))
	if err == nil || !strings.HasPrefix(err.Error(), "unknown flag -bogus: ") {
		t.Errorf("got %v", err)
	}
	if err := FlagError(fs.Parse([]string{"-c", "3"})); err != nil {
		t.Errorf("a shorthand: %v", err)
	}
}

// TestMetricsLinger: --metrics-linger (the compose stack sets SWARM_METRICS_LINGER) from the
// environment, a flag over it, and 0 by default.
func TestMetricsLinger(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		env    map[string]string
		want   time.Duration
		source string
	}{
		{[]string{testURL}, nil, 0, "default"},
		{[]string{testURL}, map[string]string{"SWARM_METRICS_LINGER": "30s"}, 30 * time.Second, "env SWARM_METRICS_LINGER"},
		{[]string{"--metrics-linger", "5s", testURL}, map[string]string{"SWARM_METRICS_LINGER": "30s"}, 5 * time.Second, "flag"},
	} {
		s, err := resolve(t, tc.args, tc.env)
		if err != nil {
			t.Fatal(err)
		}
		if s.MetricsLinger != tc.want || s.Sources["metrics-linger"] != tc.source {
			t.Errorf("%v %v: linger %s from %q, want %s from %q", tc.args, tc.env, s.MetricsLinger, s.Sources["metrics-linger"], tc.want, tc.source)
		}
	}
}

func TestInvalid(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"two args", []string{testURL, "extra"}, nil, "want one stream URL"},
		{"text clients", []string{"--clients", "many", testURL}, nil, "invalid argument"},
		{"env text clients", []string{testURL}, map[string]string{"CLIENTS": "many"}, "environment CLIENTS=\"many\": invalid value for --clients"},
		{"bad duration", []string{"--duration", "banana", testURL}, nil, "invalid argument"},
		{"bad profile", []string{"--profile", "turbo", testURL}, nil, "valid profiles are default, stress, gentle, burst, extreme"},
		{"bad log level", []string{"--log-level", "loud", testURL}, nil, "--log-level"},
		{"bad log format", []string{"--log-format", "xml", testURL}, nil, "--log-format \"xml\""},
		{"bad port", []string{"--metrics-port", "70000", testURL}, nil, "--metrics-port 70000"},
		{"negative port", []string{"--metrics-port", "-1", testURL}, nil, "--metrics-port -1: must be 0..65535"},
		{"bad addr", []string{"--metrics-addr", "nowhere", testURL}, nil, "--metrics-addr"},
		{"empty ffmpeg", []string{"--ffmpeg", "", testURL}, nil, "--ffmpeg is empty"},
		{"short progress interval", []string{"--progress-interval", "10ms", testURL}, nil, "--progress-interval 10ms: give at least 100ms"},
		{"env zero progress interval", []string{testURL}, map[string]string{"SWARM_PROGRESS_INTERVAL": "0s"}, "--progress-interval 0s"},
		{"env bad quiet", []string{testURL}, map[string]string{"SWARM_QUIET": "maybe"}, "environment SWARM_QUIET=\"maybe\""},
		{"negative linger", []string{"--metrics-linger", "-1s", testURL}, nil, "--metrics-linger -1s: must not be negative"},
		{"env negative linger", []string{testURL}, map[string]string{"SWARM_METRICS_LINGER": "-30s"}, "--metrics-linger -30s: must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := resolve(t, tt.args, tt.env)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

func TestNormalizeArgs(t *testing.T) {
	long := []string{"clients", "duration", "ramp-rate", "help", "url"}
	tests := []struct {
		in, want []string
	}{
		{[]string{"-clients", "10", "-duration", "30s", testURL}, []string{"--clients", "10", "--duration", "30s", testURL}},
		{[]string{"-ramp-rate=2", testURL}, []string{"--ramp-rate=2", testURL}},
		{[]string{"--clients", "10"}, []string{"--clients", "10"}},
		{[]string{"-c", "10", "-d", "5s"}, []string{"-c", "10", "-d", "5s"}},
		{[]string{"-unknown", "x"}, []string{"-unknown", "x"}},
		{[]string{"--clients", "-5"}, []string{"--clients", "-5"}},
		{[]string{"-help"}, []string{"--help"}},
		{[]string{"healthcheck", "-url", "http://x/healthz"}, []string{"healthcheck", "--url", "http://x/healthz"}},
		{[]string{"--", "-clients"}, []string{"--", "-clients"}},
		{[]string{"-"}, []string{"-"}},
		{nil, []string{}},
	}
	for _, tt := range tests {
		if got := NormalizeArgs(tt.in, long); !slices.Equal(got, tt.want) {
			t.Errorf("NormalizeArgs(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestEveryFlagHasAnEnvName(t *testing.T) {
	var s Settings
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	AddFlags(fs, &s)
	seen := map[string]bool{}
	for _, b := range Bindings(fs, EnvPrefix) {
		if len(b.Env) == 0 || !strings.HasPrefix(b.Env[0], "SWARM_") {
			t.Errorf("--%s has env %v", b.Flag, b.Env)
		}
		for _, e := range b.Env {
			if seen[e] {
				t.Errorf("env %s bound twice", e)
			}
			seen[e] = true
		}
	}
	for _, e := range []string{"CLIENTS", "DURATION", "RAMP_RATE", "METRICS_PORT", "LOG_LEVEL", "SWARM_RAMP_JITTER", "SWARM_SUMMARY_JSON"} {
		if !seen[e] {
			t.Errorf("no flag reads %s", e)
		}
	}
}

// TestMetricsPortZero: port 0 is valid and listens on a free port of every interface.
func TestMetricsPortZero(t *testing.T) {
	s, err := resolve(t, []string{"--metrics-port", "0", testURL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.ListenAddr() != ":0" {
		t.Errorf("ListenAddr() = %q, want :0", s.ListenAddr())
	}
}

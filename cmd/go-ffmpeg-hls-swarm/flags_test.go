package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestSwarmFlagErrors runs the real binary on flags that must be refused (exit 2, or 3 when the
// machine is not ready) with one line, and on values that mean something documented.
func TestSwarmFlagErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped under -short")
	}
	bin := swarmBuildBinary(t)
	const url = "http://127.0.0.1:9/stream.m3u8" // never contacted: every case ends before preflight's fetch
	tests := []struct {
		name string
		args []string
		env  []string
		code int
		want string // in the one line on stderr, or (exit 0) in stdout
	}{
		{"unknown single-dash word", []string{"-bogus", url}, nil, 2, "unknown flag -bogus"},
		{"unknown single-dash word with value", []string{"-bogus=1", url}, nil, 2, "unknown flag -bogus"},
		{"seed single-dash flag still works", []string{"-clients", "2", "-ramp-rate", "0", "--print-cmd", url}, nil, 0, "ffmpeg"},
		{"check with clients", []string{"--check", "--clients", "5", url}, nil, 2, "--check runs 1 client for 10s, so --clients (set by flag) would be ignored"},
		{"check with duration", []string{"--check", "--duration", "3s", url}, nil, 2, "--duration (set by flag)"},
		{"check with CLIENTS", []string{"--check", url}, []string{"CLIENTS=5"}, 2, "--clients (set by env CLIENTS)"},
		{"ramp-rate 0 starts all at once", []string{"--ramp-rate", "0", "--print-cmd", url}, nil, 0, "ffmpeg"},
		{"timeseries in a missing directory", []string{"--timeseries", "/nonexistent/run.ndjson", url}, nil, 2,
			"--timeseries /nonexistent/run.ndjson: directory /nonexistent does not exist"},
		{"SWARM_PROGRESS_INTERVAL too short", []string{url}, []string{"SWARM_PROGRESS_INTERVAL=1ms"}, 2, "--progress-interval 1ms: give at least 100ms"},
		{"negative ramp-rate", []string{"--ramp-rate", "-1", url}, nil, 2, "--ramp-rate is -1"},
		{"timeout 0 leaves FFmpeg's", []string{"--timeout", "0", "--print-cmd", url}, nil, 0, "ffmpeg"},
		{"negative timeout", []string{"--timeout", "-1s", url}, nil, 2, "--timeout is -1s"},
		{"zero clients", []string{"--clients", "0", url}, nil, 2, "--clients is 0"},
		{"bad URL", []string{"ftp://x/y.m3u8"}, nil, 2, "scheme must be http or https"},
		{"missing ffmpeg", []string{"--ffmpeg", "/nonexistent/ffmpeg", url}, nil, 3, `ffmpeg not found at "/nonexistent/ffmpeg"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(bin, tt.args...)
			cmd.Env = append(swarmEnv(), tt.env...)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			_ = cmd.Run()
			if code := cmd.ProcessState.ExitCode(); code != tt.code {
				t.Fatalf("exit %d, want %d; stderr %q", code, tt.code, stderr.String())
			}
			if tt.code == 0 {
				if !strings.Contains(stdout.String(), tt.want) {
					t.Errorf("stdout %q lacks %q", stdout.String(), tt.want)
				}
				if strings.Contains(tt.name, "timeout 0") && strings.Contains(stdout.String(), "-rw_timeout") {
					t.Errorf("--timeout 0 should leave FFmpeg's own timeout: %s", stdout.String())
				}
				return
			}
			lines := strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], tt.want) {
				t.Errorf("stderr %q, want one line containing %q", stderr.String(), tt.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout %q, want nothing", stdout.String())
			}
		})
	}
}

// TestOpenFilesPreflight runs the binary under ulimit -n 1024 (soft and hard, so it cannot be
// raised): 60 clients fit in what a client really costs the swarm (preflight.FilesPerClient), 100
// do not. The URL is closed, so both runs end in preflight (exit 3) before any client starts.
func TestOpenFilesPreflight(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped under -short")
	}
	bin := swarmBuildBinary(t)
	const url = "http://127.0.0.1:9/stream.m3u8"
	for _, tc := range []struct {
		clients string
		refused bool
	}{{"60", false}, {"100", true}} {
		cmd := exec.Command("bash", "-c", `ulimit -n 1024 && exec "$0" --clients "$1" --metrics-port 0 "$2"`, bin, tc.clients, url)
		cmd.Env = swarmEnv()
		out, _ := cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); code != 3 {
			t.Fatalf("%s clients: exit %d, want 3 (preflight): %s", tc.clients, code, out)
		}
		if got := strings.Contains(string(out), "open-files limit is 1024"); got != tc.refused {
			t.Errorf("%s clients under ulimit -n 1024: open-files refusal %v, want %v: %s", tc.clients, got, tc.refused, out)
		}
	}
}

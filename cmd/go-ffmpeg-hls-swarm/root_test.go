package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/profiles"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

// fullTree builds the command tree exactly as main does.
func fullTree() *cobra.Command {
	root := newRootCmd()
	root.AddCommand(newOriginCmd(), newHealthcheckCmd(), newUpCmd())
	return root
}

func TestEveryCommandHasAnExample(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if !c.Hidden && c.Name() != "help" && strings.TrimSpace(c.Example) == "" {
			t.Errorf("%q has no Example", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(fullTree())
}

func TestProfileCompletionListsExactlyTheProfiles(t *testing.T) {
	set, err := profiles.Load()
	if err != nil {
		t.Fatal(err)
	}
	root := fullTree()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs([]string{cobra.ShellCompRequestCmd, "--profile", ""})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if !strings.HasPrefix(line, ":") && !strings.HasPrefix(line, "Completion ended") {
			got = append(got, line)
		}
	}
	if !slices.Equal(got, set.SwarmNames()) {
		t.Errorf("completion %q, want %q", got, set.SwarmNames())
	}
}

func TestLongFlagNamesCoverTheTree(t *testing.T) {
	names := longFlagNames(fullTree())
	for _, want := range []string{"clients", "duration", "ramp-rate", "metrics-port", "threshold", "url", "timeout", "help", "version"} {
		if !slices.Contains(names, want) {
			t.Errorf("long flags lack %q", want)
		}
	}
}

// TestHealthcheckBinary runs the real binary as an exec-form healthcheck would.
func TestHealthcheckBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped under -short")
	}
	bin := swarmBuildBinary(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			fmt.Fprintln(w, "ok")
			return
		}
		http.Error(w, "not ready", http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	closed := testenv.FreePort(t)
	_, srvPort, _ := strings.Cut(strings.TrimPrefix(srv.URL, "http://"), ":")
	tests := []struct {
		name string
		args []string
		env  []string
		code int
	}{
		{"healthy", []string{"healthcheck", "--url", srv.URL + "/healthz"}, nil, 0},
		{"single-dash", []string{"healthcheck", "-url", srv.URL + "/healthz", "-timeout", "1s"}, nil, 0},
		{"503", []string{"healthcheck", "--url", srv.URL + "/readyz"}, nil, 1},
		{"refused", []string{"healthcheck", "--url", fmt.Sprintf("http://127.0.0.1:%d/healthz", closed)}, nil, 1},
		{"port from METRICS_PORT", []string{"healthcheck"}, []string{"METRICS_PORT=" + srvPort}, 0},
		{"url from env", []string{"healthcheck"}, []string{"SWARM_HEALTHCHECK_URL=" + srv.URL + "/readyz"}, 1},
		{"bad flag is unhealthy, not 2", []string{"healthcheck", "--bogus"}, nil, 1},
		{"bad timeout", []string{"healthcheck", "--timeout", "soon"}, nil, 1},
		{"extra argument", []string{"healthcheck", "http://x"}, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(bin, tt.args...)
			cmd.Env = append(swarmEnv(), tt.env...)
			out, _ := cmd.CombinedOutput()
			if code := cmd.ProcessState.ExitCode(); code != tt.code {
				t.Errorf("exit %d, want %d (output %q)", code, tt.code, out)
			}
			if tt.code != 0 && strings.Count(strings.TrimSpace(string(out)), "\n") != 0 {
				t.Errorf("more than one line: %q", out)
			}
		})
	}
}

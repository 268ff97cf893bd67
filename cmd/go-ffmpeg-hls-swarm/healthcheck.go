package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/healthcheck"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/config"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/loadtest"
)

// healthcheckEnvPrefix prefixes the healthcheck's flags in the environment: SWARM_HEALTHCHECK_URL.
const healthcheckEnvPrefix = "SWARM_HEALTHCHECK_"

func newHealthcheckCmd() *cobra.Command {
	var (
		url     string
		origin  bool
		timeout time.Duration
	)
	unhealthy := func(err error) error { return &loadtest.Error{Code: 1, Err: err} }
	cmd := &cobra.Command{
		Use:   "healthcheck [--url URL] [--timeout D]",
		Short: "Exit 0 if the swarm's health endpoint answers 2xx, else 1 (for exec-form container healthchecks)",
		Long: `healthcheck GETs a health endpoint and exits 0 when it answers 2xx within --timeout, 1
otherwise (also for invalid flags: Docker reserves exit code 2). It needs no curl and no shell,
so images built FROM scratch can use it: ["CMD", "/bin/go-ffmpeg-hls-swarm", "healthcheck"].

The default URL is http://127.0.0.1:PORT/healthz, where PORT is $SWARM_METRICS_PORT,
$METRICS_PORT or 9100 — the same port the swarm serves metrics on. With --origin it is the test
origin's http://127.0.0.1:PORT/health, PORT = $ORIGIN_PORT or 8080. --url and --timeout can also
come from SWARM_HEALTHCHECK_URL and SWARM_HEALTHCHECK_TIMEOUT.`,
		Example: `  go-ffmpeg-hls-swarm healthcheck
  go-ffmpeg-hls-swarm healthcheck --url http://127.0.0.1:9100/readyz --timeout 2s
  # the test origin on $ORIGIN_PORT (default 8080)
  go-ffmpeg-hls-swarm healthcheck --origin
  # Dockerfile / OCI config: HEALTHCHECK CMD ["/bin/go-ffmpeg-hls-swarm", "healthcheck"]`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return unhealthy(fmt.Errorf("healthcheck takes no arguments, got %q: use --url", args))
			}
			return nil
		},
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sources, err := config.ApplyEnv(cmd.Flags(), healthcheckEnvPrefix, os.LookupEnv)
			if err != nil {
				return unhealthy(err)
			}
			if sources["url"] == "default" {
				target := healthcheck.Swarm
				if origin {
					target = healthcheck.Origin
				}
				url = healthcheck.DefaultURL(target, os.LookupEnv)
			}
			if timeout <= 0 {
				return unhealthy(fmt.Errorf("--timeout %s: must be above 0", timeout))
			}
			if err := healthcheck.Probe(cmd.Context(), url, timeout); err != nil {
				return unhealthy(err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&url, "url", "http://127.0.0.1:9100/healthz", "health endpoint to GET")
	cmd.Flags().BoolVar(&origin, "origin", false, "probe the test origin's /health on $ORIGIN_PORT (default 8080) instead of the swarm")
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Second, "give up after this long")
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return unhealthy(err) })
	return cmd
}

package sink

import (
	"context"
	"fmt"
	"time"

	"github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/versions"
)

// zstdAPIVersion is the first Docker engine API (Docker 23.0) whose image load reads zstd
// layers. Docker 20.10 (API 1.41) loads such a tarball with "Error processing tar file(exit
// status 1): archive/tar: invalid tar header" and no image (tested here).
const zstdAPIVersion = "1.42"

// checkZstd refuses zstd layers for output when the engine's API is older than zstdAPIVersion.
func checkZstd(output, host, api string) error {
	if api != "" && versions.LessThan(api, zstdAPIVersion) {
		return fmt.Errorf("%s: the Docker engine at %s (API %s, older than Docker 23) cannot load zstd layers: use --compression gzip for it, or an oci: or registry: output", output, host, api)
	}
	return nil
}

// engineAPI asks the engine at host ("" is $DOCKER_HOST) for its API version; ok is false when
// no engine answers within timeout.
func engineAPI(ctx context.Context, host string, timeout time.Duration) (api, daemonHost string, ok bool) {
	opts := []client.Opt{client.FromEnv}
	if host != "" {
		opts = append(opts, client.WithHost(host))
	}
	c, err := client.New(opts...)
	if err != nil {
		return "", "", false
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	p, err := c.Ping(ctx, client.PingOptions{})
	if err != nil {
		return "", c.DaemonHost(), false
	}
	return p.APIVersion, c.DaemonHost(), true
}

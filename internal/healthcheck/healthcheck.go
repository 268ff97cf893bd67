// Package healthcheck probes an HTTP health endpoint for exec-form container healthchecks, so
// images need neither curl nor a shell: the binary checks itself.
package healthcheck

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Probe GETs url and returns nil when it answers 2xx within timeout, else one line saying why.
// Redirects are not followed: a health endpoint that redirects is misconfigured.
func Probe(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("unhealthy: bad URL %q: %w", url, err)
	}
	req.Header.Set("User-Agent", "go-ffmpeg-hls-swarm-healthcheck")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("unhealthy: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("unhealthy: GET %s answered %s", url, resp.Status)
	}
	return nil
}

// Target says whose health endpoint a healthcheck asks by default.
type Target int

const (
	// Swarm is the swarm's /healthz on its metrics port: $SWARM_METRICS_PORT, $METRICS_PORT or 9100.
	Swarm Target = iota
	// Origin is the test origin's /health on its port: $ORIGIN_PORT or 8080 (0.0.0.0 and
	// 127.0.0.1 listeners both answer on loopback).
	Origin
)

// DefaultURL is the endpoint of target on loopback, following the port that the same
// environment gives the swarm or the origin, so an image's exec-form healthcheck keeps working
// when its port is moved with an environment variable.
func DefaultURL(target Target, lookup func(string) (string, bool)) string {
	names, port, path := []string{"SWARM_METRICS_PORT", "METRICS_PORT"}, "9100", "/healthz"
	if target == Origin {
		names, port, path = []string{"ORIGIN_PORT"}, "8080", "/health"
	}
	for _, name := range names {
		if v, ok := lookup(name); ok && v != "" {
			port = v
			break
		}
	}
	return "http://127.0.0.1:" + port + path
}

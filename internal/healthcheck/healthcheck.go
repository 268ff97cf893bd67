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

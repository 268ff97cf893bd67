package preflight

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Playlist fetches u once and checks that it answers 200 with an HLS playlist (#EXTM3U), so an
// unreachable host or a wrong path fails before any client starts. headers are "Name: value".
func Playlist(ctx context.Context, client *http.Client, u, userAgent string, headers []string, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("stream URL %q: %v", u, err)
	}
	if userAgent != "" {
		req.Header.Set("User-Agent", userAgent)
	}
	for _, h := range headers {
		name, value, ok := strings.Cut(h, ":")
		if ok {
			req.Header.Set(strings.TrimSpace(name), strings.TrimSpace(value))
		}
	}
	resp, err := client.Do(req)
	var cv *tls.CertificateVerificationError
	if errors.As(err, &cv) {
		return fmt.Errorf("stream URL %s: the origin's certificate is not trusted (%v): pass its CA with --ca-file, or --insecure to skip the check", u, cv.Err)
	}
	if err != nil {
		return fmt.Errorf("stream URL %s is unreachable (%v): check the host, port and that the origin is running", u, rootCause(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("stream URL %s answers HTTP %s: check the path (a playlist such as /stream.m3u8)", u, resp.Status)
	}
	first, _ := bufio.NewReader(io.LimitReader(resp.Body, 64)).ReadString('\n')
	if !strings.HasPrefix(strings.TrimPrefix(strings.TrimSpace(first), "\ufeff"), "#EXTM3U") {
		return fmt.Errorf("stream URL %s is not an HLS playlist (it does not start with #EXTM3U): give the .m3u8 URL", u)
	}
	return nil
}

// rootCause strips url.Error's "Get \"…\": " wrapping, which repeats the URL.
func rootCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

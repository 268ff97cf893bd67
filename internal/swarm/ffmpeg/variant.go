package ffmpeg

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/grafov/m3u8"
)

// maxPlaylistBytes bounds how much of a master playlist ResolveVariant reads.
const maxPlaylistBytes = 4 << 20

// ResolveVariant returns the URL a client should open for variant: for highest/lowest the
// media playlist with the highest/lowest BANDWIDTH in the master playlist at masterURL
// (relative URIs resolved against it); for all/first, or when masterURL is already a media
// playlist, masterURL itself.
func ResolveVariant(ctx context.Context, client *http.Client, masterURL, variant, userAgent string, headers []string) (string, error) {
	if variant != VariantHighest && variant != VariantLowest {
		return masterURL, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, masterURL, nil)
	if err != nil {
		return "", fmt.Errorf("master playlist %s: %w", masterURL, err)
	}
	if userAgent != "" {
		req.Header.Set("User-Agent", userAgent)
	}
	for _, h := range headers {
		name, value, err := SplitHeader(h)
		if err != nil {
			return "", err
		}
		req.Header.Set(name, value)
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("fetch master playlist: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("fetch master playlist %s: HTTP %s", masterURL, resp.Status)
	}
	return PickVariant(io.LimitReader(resp.Body, maxPlaylistBytes), masterURL, variant)
}

// PickVariant parses a playlist and returns the absolute URL of the variant with the highest
// or lowest BANDWIDTH (I-frame-only variants excluded); a media playlist returns base.
func PickVariant(r io.Reader, base, variant string) (string, error) {
	pl, kind, err := m3u8.DecodeFrom(r, false)
	if err != nil {
		return "", fmt.Errorf("parse playlist %s: %w", base, err)
	}
	if kind != m3u8.MASTER {
		return base, nil
	}
	var best *m3u8.Variant
	for _, v := range pl.(*m3u8.MasterPlaylist).Variants {
		if v == nil || v.Iframe || v.URI == "" {
			continue
		}
		if best == nil ||
			(variant == VariantHighest && v.Bandwidth > best.Bandwidth) ||
			(variant == VariantLowest && v.Bandwidth < best.Bandwidth) {
			best = v
		}
	}
	if best == nil {
		return "", fmt.Errorf("master playlist %s lists no variants", base)
	}
	b, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("playlist URL %q: %w", base, err)
	}
	u, err := b.Parse(best.URI)
	if err != nil {
		return "", fmt.Errorf("variant URI %q in %s: %w", best.URI, base, err)
	}
	return u.String(), nil
}

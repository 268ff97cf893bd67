// Package origintest starts a real test origin (FFmpeg + nginx) for integration tests and
// stops it when the test ends: origintest.Start(t, "default", origintest.Small()).
package origintest

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/origin"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/origin/ffmpegargs"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/profiles"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

// Origin is a running test origin.
type Origin struct {
	// BaseURL is http://127.0.0.1:PORT; PlaylistURL is BaseURL + "/stream.m3u8" (the master
	// playlist of a ladder profile such as 4k-abr).
	BaseURL     string
	PlaylistURL string
	// Port is nginx's port on 127.0.0.1; Dir holds the playlists and segments.
	Port int
	Dir  string
	// Profile is the effective profile (options applied).
	Profile profiles.Origin
	// Origin is the running origin (PIDs, Health, Stop).
	Origin *origin.Origin
}

// Option changes how Start runs the origin.
type Option func(*settings)

type settings struct {
	overrides   origin.Overrides
	minSegments int
	timeout     time.Duration
	logger      *slog.Logger
	logDir      string
}

// WithResolution replaces the top rendition's size (a ladder's lower rungs scale with it).
func WithResolution(width, height int) Option {
	return func(s *settings) { s.overrides.Width, s.overrides.Height = width, height }
}

// WithFPS replaces the frame rate.
func WithFPS(fps int) Option { return func(s *settings) { s.overrides.FPS = fps } }

// WithSegmentSeconds replaces the segment duration.
func WithSegmentSeconds(n int) Option { return func(s *settings) { s.overrides.SegmentSeconds = n } }

// WithListSize replaces the number of segments in the playlist.
func WithListSize(n int) Option { return func(s *settings) { s.overrides.ListSize = n } }

// Small encodes 320x180 at 15 fps: cheap enough for a 2-core machine, same segment cadence.
func Small() Option {
	return func(s *settings) { WithResolution(320, 180)(s); WithFPS(15)(s) }
}

// WithMinSegments makes Start wait until every media playlist lists n segments (default 2).
func WithMinSegments(n int) Option { return func(s *settings) { s.minSegments = n } }

// WithLogDir keeps nginx's access log (profiles logged, debug, tap-logged) in dir.
func WithLogDir(dir string) Option { return func(s *settings) { s.logDir = dir } }

// WithLogger sends the origin's log (FFmpeg and nginx lines included) to l; the default
// discards it unless the test runs with -v, where it goes to t.Log.
func WithLogger(l *slog.Logger) Option { return func(s *settings) { s.logger = l } }

// Start runs the named origin profile on a free port of 127.0.0.1 and returns once every media
// playlist lists the first segments and nginx serves the playlist. The origin stops (processes
// gone, temporary directories removed) when the test ends. Start skips the test under -short,
// and skips (fails in CI) when ffmpeg or nginx is missing.
func Start(t testing.TB, profile string, opts ...Option) *Origin {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a real FFmpeg and nginx; skipped under -short")
	}
	ffmpeg := testenv.RequireBinary(t, "ffmpeg")
	nginx := testenv.RequireBinary(t, "nginx")
	s := settings{minSegments: 2, timeout: 90 * time.Second}
	for _, o := range opts {
		o(&s)
	}
	if s.logger == nil {
		s.logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	set, err := profiles.Load()
	if err != nil {
		t.Fatal(err)
	}
	p, err := set.Origin(profile)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	plan, err := origin.Prepare(ctx, origin.Config{Profile: p, Overrides: s.overrides, FFmpeg: ffmpeg, Nginx: nginx, Logger: s.logger, LogDir: s.logDir})
	if err != nil {
		t.Fatalf("origintest: %v", err)
	}
	o, err := origin.Start(ctx, plan)
	if err != nil {
		t.Fatalf("origintest: start %s: %v", profile, err)
	}
	t.Cleanup(func() {
		if err := o.Stop(); err != nil {
			t.Errorf("origintest: stop: %v", err)
		}
	})
	res := &Origin{BaseURL: o.BaseURL(), PlaylistURL: o.PlaylistURL(), Port: plan.Port, Dir: o.Dir(), Profile: o.Profile(), Origin: o}
	client := &http.Client{Timeout: 5 * time.Second}
	for _, name := range ffmpegargs.MediaPlaylists(res.Profile) {
		url := res.BaseURL + "/" + name
		testenv.WaitFor(t, time.Until(deadline(ctx)), "the first segments in "+url, func() bool {
			return segmentsIn(client, url) >= s.minSegments
		})
	}
	return res
}

func deadline(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}

// segmentsIn counts the #EXTINF entries of the playlist at url (0 when it cannot be fetched).
func segmentsIn(c *http.Client, url string) int {
	resp, err := c.Get(url)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return 0
	}
	return strings.Count(string(b), "#EXTINF:")
}

// testWriter sends log lines to t.Log when -v is on.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	if testing.Verbose() {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

// Package orchestrator is the swarm engine's public API: it checks the machine, builds each
// client's FFmpeg argv, ramps clients up, supervises them and streams their events to a sink.
package orchestrator

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/backoff"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/event"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/ffmpeg"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/meter"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/preflight"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/ramp"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/supervisor"
)

// Config is one swarm run.
type Config struct {
	URL        string
	Clients    int
	RampRate   float64       // clients started per second; 0 = all at once
	RampJitter time.Duration // each start moved by up to ± this
	Duration   time.Duration // 0 = until ctx is cancelled
	Variant    string        // all|first|highest|lowest
	FFmpegPath string        // default "ffmpeg" (looked up in PATH)
	Timeout    time.Duration // per network read/write of a client (-rw_timeout); 0 = FFmpeg's default
	// Reconnect turns on FFmpeg's HTTP reconnect options and restarting a client whose FFmpeg
	// exits; ReconnectDelayMax caps both FFmpeg's reconnect delay and the restart backoff.
	Reconnect         bool
	ReconnectDelayMax time.Duration
	SegmentRetries    int // -seg_max_retry where FFmpeg has it (6.0+)
	UserAgent         string
	Headers           []string // "Name: value"
	// CAFile adds PEM certificates to the system's roots for verifying an https origin;
	// Insecure skips that verification.
	CAFile         string
	Insecure       bool
	GracePeriod    time.Duration // SIGTERM → SIGKILL (default 3s)
	FFmpegLogLevel string        // what FFmpeg logs at (default ffmpeg.DefaultLogLevel, "verbose")
	Logger         *slog.Logger  // default: discard
	Seed           int64         // ramp jitter and backoff jitter; 0 = random
}

// Defaults applied by withDefaults.
const (
	DefaultGracePeriod = 3 * time.Second
	// preflightTimeout bounds the playlist fetch of Preflight when Config.Timeout is 0.
	preflightTimeout = 10 * time.Second
)

func (c Config) withDefaults() Config {
	if c.FFmpegPath == "" {
		c.FFmpegPath = "ffmpeg"
	}
	if c.Variant == "" {
		c.Variant = ffmpeg.VariantAll
	}
	if c.GracePeriod == 0 {
		c.GracePeriod = DefaultGracePeriod
	}
	if c.FFmpegLogLevel == "" {
		c.FFmpegLogLevel = ffmpeg.DefaultLogLevel
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Seed == 0 {
		c.Seed = time.Now().UnixNano()
	}
	return c
}

// Validate checks the settings without touching the machine or the network; each problem is
// one line of the returned error.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if err := preflight.URL(c.URL); err != nil {
		errs = append(errs, err)
	}
	if c.Clients < 1 {
		add("--clients is %d: give at least 1", c.Clients)
	}
	if c.RampRate < 0 {
		add("--ramp-rate is %g: give clients per second ≥ 0 (0 starts all at once)", c.RampRate)
	}
	if c.RampJitter < 0 {
		add("--ramp-jitter is %s: give a duration ≥ 0", c.RampJitter)
	}
	if c.Duration < 0 {
		add("--duration is %s: give a duration ≥ 0 (0 runs until interrupted)", c.Duration)
	}
	switch c.Variant {
	case "", ffmpeg.VariantAll, ffmpeg.VariantFirst, ffmpeg.VariantHighest, ffmpeg.VariantLowest:
	default:
		add("--variant %q: valid variants are all, first, highest, lowest", c.Variant)
	}
	if c.Timeout < 0 {
		add("--timeout is %s: give a duration ≥ 0", c.Timeout)
	}
	if c.Timeout > 0 && c.Timeout < time.Millisecond {
		add("--timeout is %s: give at least 1ms", c.Timeout)
	}
	if c.ReconnectDelayMax < 0 {
		add("reconnect delay max is %s: give a duration ≥ 0", c.ReconnectDelayMax)
	}
	if c.SegmentRetries < 0 {
		add("segment retries is %d: give a number ≥ 0", c.SegmentRetries)
	}
	if c.CAFile != "" {
		if _, err := originTLS(c); err != nil {
			errs = append(errs, err)
		}
	}
	for _, h := range c.Headers {
		if _, _, err := ffmpeg.SplitHeader(h); err != nil {
			add("--header: %v", err)
		}
	}
	if c.GracePeriod < 0 {
		add("grace period is %s: give a duration > 0", c.GracePeriod)
	}
	switch c.FFmpegLogLevel {
	case "", "quiet", "panic", "fatal", "error", "warning", "info", "verbose", "debug", "trace":
	default:
		add("FFmpeg log level %q: valid levels are quiet, panic, fatal, error, warning, info, verbose, debug, trace", c.FFmpegLogLevel)
	}
	return errors.Join(errs...)
}

// Preflight checks, before any client starts: the settings, the open-files and process limits
// and the ephemeral port range for c.Clients, that FFmpeg runs and has an hls demuxer, and
// that the URL answers with a playlist. Each failed check is one line of the error.
func Preflight(ctx context.Context, c Config) error {
	c = c.withDefaults()
	if err := c.Validate(); err != nil {
		return err
	}
	if err := preflight.Run(preflight.Checks{Clients: c.Clients, FFmpegPath: c.FFmpegPath, URL: c.URL}); err != nil {
		return err
	}
	caps, err := ffmpeg.Detect(ctx, c.FFmpegPath)
	if err != nil {
		return fmt.Errorf("ffmpeg at %q does not work (%v): install FFmpeg or pass --ffmpeg PATH", c.FFmpegPath, err)
	}
	if err := canOpen(caps, c.URL); err != nil {
		return err
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = preflightTimeout
	}
	hc, err := httpClient(c)
	if err != nil {
		return err
	}
	return preflight.Playlist(ctx, hc, c.URL, c.UserAgent, c.Headers, timeout)
}

// originTLS is how the swarm verifies an https origin: the system's roots plus --ca-file, or
// nothing with --insecure.
func originTLS(c Config) (*tls.Config, error) {
	conf := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.Insecure} //nolint:gosec // --insecure asks for it
	if c.CAFile == "" {
		return conf, nil
	}
	pem, err := os.ReadFile(c.CAFile)
	if err != nil {
		return nil, fmt.Errorf("--ca-file %s: %v: give a readable PEM file of CA certificates", c.CAFile, err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--ca-file %s holds no PEM certificate: give the origin's CA certificate in PEM", c.CAFile)
	}
	conf.RootCAs = pool
	return conf, nil
}

// httpClient is the client of the swarm's own requests (preflight, variant choice).
func httpClient(c Config) (*http.Client, error) {
	conf, err := originTLS(c)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = conf
	return &http.Client{Transport: tr}, nil
}

// CommandLine returns the argv client 0 would run (argv[0] is FFmpeg). It runs FFmpeg to learn
// its version and options and, for --variant highest|lowest, fetches the master playlist.
func CommandLine(ctx context.Context, c Config) ([]string, error) {
	c = c.withDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	opts, caps, err := clientOptions(ctx, c)
	if err != nil {
		return nil, err
	}
	// Without -http_proxy: the swarm adds its own per-client proxy at run time, whose port
	// does not exist yet; this is the command a person can run by hand.
	return caps.Args(opts)
}

// clientOptions detects FFmpeg and resolves the variant: what every client's argv is built from.
func clientOptions(ctx context.Context, c Config) (ffmpeg.ClientOptions, ffmpeg.Capabilities, error) {
	caps, err := ffmpeg.Detect(ctx, c.FFmpegPath)
	if err != nil {
		return ffmpeg.ClientOptions{}, caps, fmt.Errorf("detect FFmpeg: %w", err)
	}
	if err := canOpen(caps, c.URL); err != nil {
		return ffmpeg.ClientOptions{}, caps, err
	}
	hc, err := httpClient(c)
	if err != nil {
		return ffmpeg.ClientOptions{}, caps, err
	}
	u, err := ffmpeg.ResolveVariant(ctx, hc, c.URL, c.Variant, c.UserAgent, c.Headers)
	if err != nil {
		return ffmpeg.ClientOptions{}, caps, fmt.Errorf("choose the %s variant: %w", c.Variant, err)
	}
	return ffmpeg.ClientOptions{URL: u, Variant: c.Variant, Timeout: c.Timeout,
		Reconnect: c.Reconnect, ReconnectDelayMax: c.ReconnectDelayMax, SegmentRetries: c.SegmentRetries,
		UserAgent: c.UserAgent, Headers: c.Headers, LogLevel: c.FFmpegLogLevel}, caps, nil
}

// redactHeaders hides the value of -headers (it may carry credentials) for logging.
func redactHeaders(argv []string) []string {
	out := append([]string(nil), argv...)
	for i := 0; i+1 < len(out); i++ {
		if out[i] == "-headers" {
			out[i+1] = fmt.Sprintf("<%d headers>", strings.Count(out[i+1], "\r\n"))
		}
	}
	return out
}

// canOpen checks that FFmpeg was built with the URL's protocol (https needs TLS support).
func canOpen(caps ffmpeg.Capabilities, rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("stream URL %q: %v", rawURL, err)
	}
	if !caps.CanOpen(u.Scheme) {
		return fmt.Errorf("ffmpeg at %q (%s) cannot open %s URLs: use an FFmpeg built with %s support or an http:// URL",
			caps.Path, caps.Version, u.Scheme, u.Scheme)
	}
	return nil
}

// Run starts c.Clients FFmpeg clients at c.RampRate per second, supervises them and sends their
// events to sink. Each client's HTTP goes through a metering proxy of its own
// (internal/swarm/meter), which sends one event.Request per attempt. It returns when
// c.Duration has elapsed or ctx is done, after every child is gone (SIGTERM to each client's
// process group, c.GracePeriod, then SIGKILL) and every proxy has emitted its last attempt.
// It returns an error only when the swarm cannot start (settings, FFmpeg, variant choice,
// proxy listeners).
func Run(ctx context.Context, c Config, sink event.Sink) error {
	c = c.withDefaults()
	if err := c.Validate(); err != nil {
		return err
	}
	// The swarm process's work is its clients' metering proxies: as many Ps as they need
	// (meter.Procs), unless GOMAXPROCS is set. Restored when the run ends.
	if os.Getenv("GOMAXPROCS") == "" {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(meter.Procs(c.Clients, runtime.NumCPU())))
	}
	opts, caps, err := clientOptions(ctx, c)
	if err != nil {
		return err
	}
	// HTTPS is measured too: the proxies terminate the clients' TLS with a CA made for this run,
	// whose certificate the clients get (-ca_file), and verify the origin themselves.
	var ca *meter.CA
	tlsConf, err := originTLS(c)
	if err != nil {
		return err
	}
	if strings.HasPrefix(opts.URL, "https://") {
		if ca, err = meter.NewCA(); err != nil {
			return err
		}
		f, err := os.CreateTemp("", "hls-swarm-ca-*.pem")
		if err != nil {
			return fmt.Errorf("write the run's CA certificate: %w", err)
		}
		defer os.Remove(f.Name())
		_, err = f.Write(ca.PEM())
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("write the run's CA certificate: %w", err)
		}
		opts.CAFile = f.Name()
	}
	// A VOD stream (a media playlist with ENDLIST) is played to its end once per client: a clean
	// FFmpeg exit then finishes the client instead of restarting it.
	var vod atomic.Bool
	sink = event.Fanout{event.SinkFunc(func(e event.Event) {
		if e.Kind == event.Request && e.Ended {
			vod.Store(true)
		}
	}), sink}
	proxies := make([]*meter.Proxy, c.Clients)
	argvs := make([][]string, c.Clients)
	defer func() {
		for _, px := range proxies {
			if px != nil {
				_ = px.Close()
			}
		}
	}()
	for i := range proxies {
		proxies[i], err = meter.Listen(meter.Options{Client: i, Sink: sink, Timeout: c.Timeout, CA: ca, OriginTLS: tlsConf})
		if err != nil {
			return err
		}
		o := opts
		o.HTTPProxy = proxies[i].URL()
		if argvs[i], err = caps.Args(o); err != nil {
			return err
		}
	}
	c.Logger.Info("swarm starting", "clients", c.Clients, "ffmpeg", caps.Version.String(),
		"ramp_rate", c.RampRate, "duration", c.Duration, "argv", redactHeaders(argvs[0]))

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if c.Duration > 0 {
		runCtx, cancel = context.WithTimeout(ctx, c.Duration)
		defer cancel()
	}

	logs := supervisor.NewLogReader(supervisor.DefaultLogInterval)
	defer logs.Close() // likewise: every client's stderr has reached EOF by then

	seed := uint64(c.Seed)
	schedule := ramp.Schedule(c.Clients, c.RampRate, c.RampJitter, rand.New(rand.NewPCG(seed, 0x52414d50)))
	start := time.Now()
	var wg sync.WaitGroup
	for i, at := range schedule {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				_ = proxies[i].Close() // after the client's last process: its last attempts are emitted
				st := proxies[i].Stats()
				c.Logger.Info("client connections", "client", i, "accepted", st.Accepted, "dialled", st.Dialled,
					"redialled", st.Redialled, "other_host", st.OtherHost)
			}()
			t := time.NewTimer(time.Until(start.Add(at)))
			select {
			case <-runCtx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			client := supervisor.Client{
				Index: i, Argv: argvs[i], Restart: c.Reconnect, Finished: vod.Load,
				Backoff:     backoff.New(c.ReconnectDelayMax, rand.New(rand.NewPCG(seed, uint64(i)+1))),
				GracePeriod: c.GracePeriod,
				Logs:        logs, Sink: sink, Logger: c.Logger,
			}
			client.Run(runCtx)
		}()
	}
	wg.Wait()
	c.Logger.Info("swarm stopped", "elapsed", time.Since(start).Round(time.Millisecond))
	return nil
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/origin"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/profiles"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/loadtest"
)

// originFlags are the flags origin and origin render share.
type originFlags struct {
	profile, listen, dir, logDir, ffmpeg, nginx, size, logLevel string
	port, fps, segment                                          int
}

func (f *originFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.profile, "profile", "default", "test-origin profile: "+strings.Join(originProfileNames(), ", "))
	fl.IntVar(&f.port, "port", 8080, "TCP port nginx listens on (0 picks a free one; the log says which)")
	fl.StringVar(&f.listen, "listen", "127.0.0.1", "address nginx binds (0.0.0.0 to serve other machines)")
	fl.StringVar(&f.ffmpeg, "ffmpeg", "ffmpeg", "FFmpeg program (name on PATH or path)")
	fl.StringVar(&f.nginx, "nginx", "nginx", "nginx program (name on PATH, /usr/sbin, or path)")
	fl.StringVar(&f.size, "size", "", "override the top rendition's size, e.g. 640x360 (small machines)")
	fl.IntVar(&f.fps, "fps", 0, "override the frame rate (small machines)")
	fl.IntVar(&f.segment, "segment-seconds", 0, "override the segment duration")
	_ = cmd.RegisterFlagCompletionFunc("profile", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return originProfileNames(), cobra.ShellCompDirectiveNoFileComp
	})
}

// config turns the flags into an origin.Config; an unknown profile or a bad size is an error.
func (f *originFlags) config(log *slog.Logger) (origin.Config, error) {
	set, err := profiles.Load()
	if err != nil {
		return origin.Config{}, err
	}
	p, err := set.Origin(f.profile)
	if err != nil {
		return origin.Config{}, err
	}
	ov := origin.Overrides{FPS: f.fps, SegmentSeconds: f.segment}
	if f.size != "" {
		if _, err := fmt.Sscanf(f.size, "%dx%d", &ov.Width, &ov.Height); err != nil || ov.Width <= 0 || ov.Height <= 0 {
			return origin.Config{}, fmt.Errorf("--size %q is not WIDTHxHEIGHT, e.g. 640x360", f.size)
		}
	}
	return origin.Config{Profile: p, Overrides: ov, FFmpeg: f.ffmpeg, Nginx: f.nginx, Listen: f.listen,
		Port: f.port, Dir: f.dir, LogDir: f.logDir, Logger: log}, nil
}

func newOriginCmd() *cobra.Command {
	var f originFlags
	cmd := &cobra.Command{
		Use:   "origin [--profile P] [--port 8080] [--dir DIR] [--listen ADDR]",
		Short: "Run the test origin: FFmpeg encodes a live test pattern to HLS, nginx serves it",
		Long: `origin runs a live HLS test origin on this machine: FFmpeg encodes testsrc2 + a sine tone
to HLS on tmpfs and nginx (a child with its own prefix, not a system service) serves
http://LISTEN:PORT/stream.m3u8, /health (200 "OK" while the playlist is fresh; "SLOW" when
FFmpeg cannot keep real time) and /nginx_status (stub_status). Both are restarted with backoff
if they crash; SIGTERM or Ctrl-C stops both and removes the temporary files.

Every flag can also come from the environment as ORIGIN_<FLAG> (ORIGIN_PROFILE,
ORIGIN_PORT, ORIGIN_LISTEN, ORIGIN_DIR, …); a flag on the command line wins.`,
		Example: `  go-ffmpeg-hls-swarm origin                                 # default profile on 127.0.0.1:8080
  go-ffmpeg-hls-swarm origin --profile low-latency --port 9000
  go-ffmpeg-hls-swarm origin --profile 4k-abr --size 1280x720  # the ladder, scaled for a small machine
  go-ffmpeg-hls-swarm origin --listen 0.0.0.0 --dir /dev/shm/hls
  go-ffmpeg-hls-swarm origin --profile logged --log-dir /var/log/origin
  ORIGIN_PROFILE=low-latency ORIGIN_PORT=9000 go-ffmpeg-hls-swarm origin
  go-ffmpeg-hls-swarm origin render --profile 4k-abr`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := originEnv(cmd); err != nil {
				return err
			}
			log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel(f.logLevel)}))
			c, err := f.config(log)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmdContext(cmd), os.Interrupt, syscall.SIGTERM)
			defer stop()
			plan, err := origin.Prepare(ctx, c)
			if err != nil {
				return originError(err)
			}
			return origin.Run(ctx, plan)
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&f.dir, "dir", "", "directory for playlists and segments (default: a new directory on /dev/shm, removed at exit)")
	cmd.Flags().StringVar(&f.logDir, "log-dir", "", "keep nginx access logs here (profiles logged, debug, tap-logged)")
	cmd.Flags().StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	cmd.AddCommand(newOriginRenderCmd())
	return cmd
}

func newOriginRenderCmd() *cobra.Command {
	var (
		f      originFlags
		format string
		prefix string
	)
	cmd := &cobra.Command{
		Use:   "render [--profile P] [--format text|json]",
		Short: "Print the FFmpeg command and nginx.conf a profile runs, without starting anything",
		Long: `render prints what origin would run for a profile: FFmpeg's argv (built from the
capabilities of the FFmpeg it finds), nginx's argv and the nginx.conf. --format json is
for programs (Nix, scripts); text is for people.`,
		Example: `  go-ffmpeg-hls-swarm origin render --profile 4k-abr
  go-ffmpeg-hls-swarm origin render --profile low-latency --format json | jq -r .nginxConf
  go-ffmpeg-hls-swarm origin render --profile default --dir /var/lib/hls --prefix /run/origin`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := originEnv(cmd); err != nil {
				return err
			}
			if format != "text" && format != "json" {
				return fmt.Errorf("--format %q is not text or json", format)
			}
			c, err := f.config(slog.New(slog.DiscardHandler))
			if err != nil {
				return err
			}
			plan, err := origin.Resolve(cmdContext(cmd), c)
			if err != nil {
				return originError(err)
			}
			r, err := origin.Render(plan, f.dir, prefix)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(r)
			}
			_, err = fmt.Fprint(out, r.Text())
			return err
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	cmd.Flags().StringVar(&f.dir, "dir", "/dev/shm/go-ffmpeg-hls-swarm/hls", "HLS directory to render for")
	cmd.Flags().StringVar(&prefix, "prefix", "/dev/shm/go-ffmpeg-hls-swarm/nginx", "nginx prefix to render for")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// originError gives an error about this machine (no ffmpeg, port taken) the swarm's preflight
// exit code, 3; the rest stay usage errors (2).
func originError(err error) error {
	var nr *origin.NotReadyError
	if errors.As(err, &nr) {
		return &loadtest.Error{Code: loadtest.ExitPreflight, Err: err}
	}
	return err
}

// originEnv fills every flag not given on the command line from ORIGIN_<FLAG> (upper case,
// dashes as underscores), e.g. ORIGIN_PROFILE=low-latency ORIGIN_PORT=9000: flag > env > default.
func originEnv(cmd *cobra.Command) error {
	var err error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || f.Name == "help" {
			return
		}
		env := "ORIGIN_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok {
			if serr := f.Value.Set(v); serr != nil {
				err = fmt.Errorf("%s=%q is not a valid --%s (%s): fix or unset it", env, v, f.Name, f.Value.Type())
			}
		}
	})
	return err
}

// originProfileNames lists the embedded origin profiles (empty if they do not load; the
// command then reports why).
func originProfileNames() []string {
	set, err := profiles.Load()
	if err != nil {
		return nil
	}
	return set.OriginNames()
}

func cmdContext(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

func logLevel(s string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return slog.LevelInfo
	}
	return l
}

// Package origin runs the test origin: FFmpeg encoding a live test pattern to HLS in a tmpfs
// directory and nginx serving it, both supervised children, plus the /health handler.
package origin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/origin/ffmpegargs"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/origin/nginxconf"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/proc"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/profiles"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/ffmpeg"
)

// Origin is a running test origin.
type Origin struct {
	plan    *Plan
	log     *slog.Logger
	runDir  string
	hlsDir  string
	ownDir  bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	server  *http.Server
	health  *health
	ffmpeg  atomic.Int64
	nginx   atomic.Int64
	stopped sync.Once
	stopErr error
}

// Start prepares the directories, starts the /health handler, FFmpeg and nginx under
// supervision, and returns once nginx accepts connections (ctx bounds only the start; the
// origin runs until Stop, which stops both and removes the temporary directories). On error
// everything started is stopped again.
func Start(ctx context.Context, p *Plan) (o *Origin, err error) {
	o = &Origin{plan: p, log: p.Logger.With("profile", p.Profile.Name)}
	base := tmpfsBase(p.Profile, o.log)
	removeOrphanedRunDirs(base, o.log)
	if o.runDir, err = os.MkdirTemp(base, runDirPattern); err != nil {
		return nil, fmt.Errorf("create the origin's run directory: %w", err)
	}
	defer func() {
		if err != nil {
			_ = o.Stop()
			o = nil
		}
	}()
	// nginx's workers (nobody when started as root) must reach the HLS files and the socket.
	if err = os.Chmod(o.runDir, 0o755); err != nil {
		return o, err
	}
	if err = os.WriteFile(filepath.Join(o.runDir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return o, fmt.Errorf("write the run directory's owner: %w", err)
	}
	o.hlsDir, o.ownDir = p.Dir, p.Dir == ""
	if o.ownDir {
		o.hlsDir = filepath.Join(o.runDir, "hls")
	}
	if err = os.MkdirAll(o.hlsDir, 0o755); err != nil {
		return o, fmt.Errorf("create HLS directory: %w", err)
	}
	if !dirWritable(o.hlsDir) {
		return o, fmt.Errorf("HLS directory %s is not writable: choose another with --dir", o.hlsDir)
	}
	if err = removeHLSFiles(o.hlsDir); err != nil {
		return o, err
	}
	workersAsRoot := false
	if !o.ownDir && os.Geteuid() == 0 {
		if rerr := othersCanRead(o.hlsDir); rerr != nil {
			o.log.Warn("nginx workers run as root: "+rerr.Error(), "dir", o.hlsDir)
			workersAsRoot = true
		}
	}
	prefix := filepath.Join(o.runDir, "nginx")
	for _, d := range append(nginxconf.TempDirs(prefix), p.LogDir) {
		if d != "" {
			if err = os.MkdirAll(d, 0o755); err != nil {
				return o, fmt.Errorf("create nginx directory: %w", err)
			}
		}
	}
	sock := filepath.Join(o.runDir, "health.sock")
	if err = o.startHealth(sock); err != nil {
		return o, err
	}
	nc := p.NginxConfig(prefix, o.hlsDir, sock)
	if workersAsRoot {
		nc.User = rootUser()
	}
	conf, err := nginxconf.Render(nc)
	if err != nil {
		return o, err
	}
	confPath := filepath.Join(prefix, "nginx.conf")
	if err = os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return o, fmt.Errorf("write nginx.conf: %w", err)
	}
	if out, terr := exec.CommandContext(ctx, p.NginxPath, nginxArgs(prefix, confPath, "-t", "-q")...).CombinedOutput(); terr != nil {
		return o, fmt.Errorf("nginx rejects the rendered config: %s", firstLine(out, terr))
	}
	if a := nc.AccessLogPath(); a != "" {
		o.log.Info("nginx access log", "path", a, "kept", p.LogDir != "")
	}
	if p.Profile.RealtimeNote != "" {
		o.log.Info(p.Profile.RealtimeNote)
	}

	runCtx, cancel := context.WithCancel(context.Background())
	o.cancel = cancel
	o.wg.Add(2)
	go func() {
		defer o.wg.Done()
		supervise(runCtx, o.log, "ffmpeg", newBackoff(), o.runFFmpeg)
	}()
	go func() {
		defer o.wg.Done()
		supervise(runCtx, o.log, "nginx", newBackoff(), func(ctx context.Context) error {
			return o.runNginx(ctx, prefix, confPath)
		})
	}()
	if err = o.waitListening(ctx, 20*time.Second); err != nil {
		return o, err
	}
	o.log.Info("origin up", "url", o.PlaylistURL(), "dir", o.hlsDir, "run_dir", o.runDir, "ffmpeg", p.Caps.Version)
	return o, nil
}

func (o *Origin) startHealth(sock string) error {
	p := o.plan
	o.health = newHealth(o.log, o.hlsDir, ffmpegargs.MediaPlaylists(p.Profile), time.Duration(p.Profile.SegmentSeconds)*time.Second)
	l, err := net.Listen("unix", sock)
	if err != nil {
		return fmt.Errorf("listen on health socket: %w", err)
	}
	if err := os.Chmod(sock, 0o666); err != nil {
		l.Close()
		return fmt.Errorf("chmod health socket: %w", err)
	}
	o.server = &http.Server{Handler: o.health, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = o.server.Serve(l) }()
	return nil
}

func (o *Origin) runFFmpeg(ctx context.Context) error {
	if err := removeHLSFiles(o.hlsDir); err != nil {
		return err
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("progress pipe: %w", err)
	}
	defer pr.Close()
	cmd := command(ctx, o.plan.FFmpegPath, o.plan.FFmpegArgs(o.hlsDir), o.log.With("proc", "ffmpeg"))
	cmd.ExtraFiles = []*os.File{pw}
	err = proc.Start(cmd, syscall.SIGKILL)
	pw.Close()
	if err != nil {
		return fmt.Errorf("start ffmpeg: %w", err)
	}
	o.ffmpeg.Store(int64(cmd.Process.Pid))
	defer o.ffmpeg.Store(0)
	o.health.restarted()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = ffmpeg.ReadProgress(pr, func(p ffmpeg.Progress) { o.health.observe(time.Now(), p) })
	}()
	err = wait(cmd)
	pr.Close()
	<-done
	return err
}

func (o *Origin) runNginx(ctx context.Context, prefix, conf string) error {
	cmd := command(ctx, o.plan.NginxPath, nginxArgs(prefix, conf), o.log.With("proc", "nginx"))
	if err := proc.Start(cmd, syscall.SIGTERM); err != nil {
		return fmt.Errorf("start nginx: %w", err)
	}
	o.nginx.Store(int64(cmd.Process.Pid))
	defer o.nginx.Store(0)
	return wait(cmd)
}

// nginxArgs runs nginx with its own prefix and config; -e keeps start-up messages off the
// compiled-in error log path, which a non-root user may not be able to open.
func nginxArgs(prefix, conf string, extra ...string) []string {
	return append([]string{"-p", prefix + "/", "-c", conf, "-e", "stderr"}, extra...)
}

func (o *Origin) waitListening(ctx context.Context, limit time.Duration) error {
	addr := net.JoinHostPort(dialHost(o.plan.Listen), strconv.Itoa(o.plan.Port))
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("nginx did not accept connections on %s within %s: see its log lines above", addr, limit)
}

// dialHost is the address to reach a listener bound to listen.
func dialHost(listen string) string {
	switch listen {
	case "0.0.0.0", "":
		return "127.0.0.1"
	case "::":
		return "::1"
	}
	return listen
}

// BaseURL is http://HOST:PORT of the origin.
func (o *Origin) BaseURL() string {
	return "http://" + net.JoinHostPort(dialHost(o.plan.Listen), strconv.Itoa(o.plan.Port))
}

// PlaylistURL is the URL clients open (the master playlist of a ladder).
func (o *Origin) PlaylistURL() string { return o.BaseURL() + "/" + ffmpegargs.Playlist }

// Dir is the directory holding the playlists and segments.
func (o *Origin) Dir() string { return o.hlsDir }

// RunDir is the temporary directory (nginx prefix, health socket) removed at stop.
func (o *Origin) RunDir() string { return o.runDir }

// Profile is the effective profile (overrides applied).
func (o *Origin) Profile() profiles.Origin { return o.plan.Profile }

// PIDs returns the current FFmpeg and nginx master process ids (0 while not running).
func (o *Origin) PIDs() (ffmpeg, nginx int) { return int(o.ffmpeg.Load()), int(o.nginx.Load()) }

// Health returns what /health would answer now.
func (o *Origin) Health() Status { return o.health.status(time.Now()) }

// Stop stops FFmpeg and nginx (SIGTERM, SIGKILL after 3 s), the health handler, and removes
// the temporary directories. It is safe to call more than once.
func (o *Origin) Stop() error {
	o.stopped.Do(func() {
		if o.cancel != nil {
			o.cancel()
		}
		o.wg.Wait()
		if o.server != nil {
			o.server.Close()
		}
		var errs []error
		if !o.ownDir && o.hlsDir != "" {
			errs = append(errs, removeHLSFiles(o.hlsDir))
		}
		if o.runDir != "" {
			errs = append(errs, os.RemoveAll(o.runDir))
		}
		o.stopErr = errors.Join(errs...)
		o.log.Info("origin stopped")
	})
	return o.stopErr
}

// Run starts the origin and keeps it up until ctx ends, then stops it.
func Run(ctx context.Context, p *Plan) error {
	o, err := Start(ctx, p)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting: Start has cleaned up
		}
		return err
	}
	<-ctx.Done()
	return o.Stop()
}

package origin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/origin/ffmpegargs"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/origin/nginxconf"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/profiles"
)

// Config says which profile to run and where.
type Config struct {
	Profile   profiles.Origin
	Overrides Overrides
	// FFmpeg and Nginx are program names or paths ("" means "ffmpeg" and "nginx" on PATH,
	// nginx also in /usr/sbin and /sbin).
	FFmpeg, Nginx string
	// Listen is the address nginx binds ("" means 127.0.0.1); Port its port (0 picks a free one).
	Listen string
	Port   int
	// Dir is where FFmpeg writes the HLS files ("" means a fresh directory on tmpfs, removed at
	// stop). Stale HLS files in it are removed at start.
	Dir string
	// LogDir keeps nginx's access log (profiles logged, debug, tap-logged); "" means the run
	// directory, which is removed at stop.
	LogDir string
	Logger *slog.Logger
}

// Plan is a checked Config: resolved programs, detected FFmpeg capabilities, the effective profile.
type Plan struct {
	Config
	Profile    profiles.Origin
	FFmpegPath string
	NginxPath  string
	Caps       ffmpegargs.Caps
}

// Prepare checks everything that can be checked before anything starts: the overrides, both
// programs and what FFmpeg can do, and that the port is free. Its errors are one line each;
// those about the machine rather than the settings are a *NotReadyError.
func Prepare(ctx context.Context, c Config) (*Plan, error) {
	p, err := Resolve(ctx, c)
	if err != nil {
		return nil, err
	}
	if p.Port == 0 {
		if p.Port, err = freePort(p.Listen); err != nil {
			return nil, &NotReadyError{err}
		}
	} else if err := portFree(p.Listen, p.Port); err != nil {
		return nil, &NotReadyError{err}
	}
	return p, nil
}

// NotReadyError is an error of Prepare or Resolve about this machine rather than the settings: a
// program missing or unusable, the port taken. The command line exits 3 for it (2 for the
// settings), as the swarm does for its preflight.
type NotReadyError struct{ Err error }

func (e *NotReadyError) Error() string { return e.Err.Error() }
func (e *NotReadyError) Unwrap() error { return e.Err }

// Resolve is Prepare without the port check (for rendering the configuration only).
func Resolve(ctx context.Context, c Config) (*Plan, error) {
	if c.Listen == "" {
		c.Listen = "127.0.0.1"
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	p, err := c.Overrides.Apply(c.Profile)
	if err != nil {
		return nil, err
	}
	if c.Port < 0 || c.Port > 65535 {
		return nil, fmt.Errorf("port %d is outside 0..65535: choose another with --port", c.Port)
	}
	if net.ParseIP(c.Listen) == nil {
		return nil, fmt.Errorf("listen address %q is not an IP address: use 127.0.0.1, 0.0.0.0 or ::1", c.Listen)
	}
	ff, err := findProgram(c.FFmpeg, "ffmpeg", "--ffmpeg")
	if err != nil {
		return nil, &NotReadyError{err}
	}
	ng, err := findProgram(c.Nginx, "nginx", "--nginx")
	if err != nil {
		return nil, &NotReadyError{err}
	}
	caps, err := ffmpegargs.Detect(ctx, ff)
	if err != nil {
		return nil, &NotReadyError{fmt.Errorf("%s does not run as FFmpeg (%v): pass a working FFmpeg with --ffmpeg", ff, err)}
	}
	if m := caps.Missing(); len(m) > 0 {
		return nil, &NotReadyError{fmt.Errorf("%s lacks %s: install a full FFmpeg build (Debian's ffmpeg package has them)", ff, strings.Join(m, ", "))}
	}
	return &Plan{Config: c, Profile: p, FFmpegPath: ff, NginxPath: ng, Caps: caps}, nil
}

func findProgram(given, name, flag string) (string, error) {
	if given == "" {
		given = name
	}
	if p, err := exec.LookPath(given); err == nil {
		return p, nil
	}
	if !strings.Contains(given, "/") {
		for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
			if p, err := exec.LookPath(filepath.Join(dir, given)); err == nil {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("%s not found (%s): install it (scripts/install-deps.sh --demo) or pass %s PATH", name, given, flag)
}

func portFree(listen string, port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort(listen, strconv.Itoa(port)))
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("port %d on %s is in use: stop what listens there or choose another with --port", port, listen)
		}
		return fmt.Errorf("cannot listen on %s port %d (%v): choose another --listen or --port", listen, port, err)
	}
	return l.Close()
}

func freePort(listen string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(listen, "0"))
	if err != nil {
		return 0, fmt.Errorf("find a free port on %s: %w", listen, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// FFmpegArgs returns FFmpeg's arguments for writing into dir.
func (p *Plan) FFmpegArgs(dir string) []string { return ffmpegargs.Build(p.Profile, p.Caps, dir) }

// NginxConfig returns the nginx configuration for the given directories.
func (p *Plan) NginxConfig(prefix, root, healthSocket string) nginxconf.Config {
	return nginxconf.Config{Profile: p.Profile, Prefix: prefix, Root: root, Listen: p.Listen, Port: p.Port,
		HealthSocket: healthSocket, LogDir: p.LogDir, User: workerUser()}
}

// rootUser is "root <group 0>" for nginx's user directive.
func rootUser() string {
	if g, err := user.LookupGroupId("0"); err == nil {
		return "root " + g.Name
	}
	return "root"
}

// workerUser is nginx's worker user when it starts as root: nobody (any user that cannot
// write the HLS directory will do); as non-root nginx keeps the current user.
func workerUser() string {
	if os.Geteuid() != 0 {
		return ""
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		return "root root"
	}
	if g, err := user.LookupGroupId(u.Gid); err == nil {
		return "nobody " + g.Name
	}
	return "nobody"
}

// Package preflight checks, before any client starts, that this machine and the given settings
// can run the swarm: file and process limits, ephemeral ports, the FFmpeg binary and the URL.
package preflight

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Checks are the inputs of a preflight.
type Checks struct {
	Clients    int
	FFmpegPath string
	URL        string
	// PortRangeFile is where the ephemeral port range is read (default
	// /proc/sys/net/ipv4/ip_local_port_range); tests point it elsewhere.
	PortRangeFile string
}

// Sizing rules of the preflight.
//
// FilesPerClient is what one client costs in open descriptors in the swarm's own process (the
// limit is per process: each FFmpeg has its own, and uses a dozen of it). Measured by
// orchestrator's TestFilesPerClient on a running swarm of 10: 3 per client of its own (the read
// ends of its -progress and stderr pipes, and the pidfd Go keeps for the child), and 10 with a
// metering proxy per client (its listener, and both ends of FFmpeg's 2–3 connections through it).
// 12 keeps a margin (the test wants 10 %) and still lets 60 clients start under ulimit -n 1024,
// which the published tool's 20 refused while 10 clients held 40 descriptors. FilesBase covers
// the process itself (runtime, metrics server, logs: 13 measured).
const (
	FilesPerClient = 12
	FilesBase      = 100
	ProcsBase      = 50
	PortsPerClient = 4
)

// Run performs every check and returns nil or an error whose lines (one per failed check)
// each say what is wrong and how to fix it. It raises the soft open-files limit to the hard
// limit first, so only a hard limit that is too low fails.
func Run(c Checks) error {
	var errs []error
	errs = append(errs, URL(c.URL), FFmpeg(c.FFmpegPath), OpenFiles(c.Clients), Processes(c.Clients),
		EphemeralPorts(c.Clients, c.PortRangeFile))
	return errors.Join(errs...)
}

// URL checks that u is an absolute http or https URL with a host.
func URL(u string) error {
	if u == "" {
		return errors.New("no stream URL: give one as the argument or in STREAM_URL (e.g. http://origin:8080/stream.m3u8)")
	}
	p, err := url.Parse(u)
	if err != nil {
		return fmt.Errorf("stream URL %q is not a URL (%v): give e.g. http://origin:8080/stream.m3u8", u, errors.Unwrap(err))
	}
	if p.Scheme != "http" && p.Scheme != "https" {
		return fmt.Errorf("stream URL %q: scheme must be http or https, not %q", u, p.Scheme)
	}
	if p.Hostname() == "" {
		return fmt.Errorf("stream URL %q has no host: give e.g. http://origin:8080/stream.m3u8", u)
	}
	return nil
}

// FFmpeg checks that path names an executable FFmpeg (a bare name is looked up in PATH).
func FFmpeg(path string) error {
	if path == "" {
		path = "ffmpeg"
	}
	p, err := exec.LookPath(path)
	if err != nil {
		return fmt.Errorf("ffmpeg not found at %q: install FFmpeg (apt-get install ffmpeg) or pass --ffmpeg PATH", path)
	}
	fi, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("ffmpeg at %q: %v: pass --ffmpeg PATH to an FFmpeg binary", p, err)
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("ffmpeg at %q is not executable: chmod +x it or pass --ffmpeg PATH", p)
	}
	return nil
}

// OpenFiles raises the soft RLIMIT_NOFILE to the hard limit and checks it is at least
// FilesPerClient × clients + FilesBase.
func OpenFiles(clients int) error {
	need := uint64(FilesPerClient*clients + FilesBase)
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("read the open-files limit: %v", err)
	}
	if lim.Cur < lim.Max {
		raised := lim
		raised.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err == nil {
			lim = raised
		}
	}
	if lim.Cur < need {
		return fmt.Errorf("open-files limit is %d but %d clients need %d: raise it (ulimit -n %d, or LimitNOFILE= in systemd) or use fewer clients",
			lim.Cur, clients, need, need)
	}
	return nil
}

// Processes checks RLIMIT_NPROC (not enforced for root) against clients + ProcsBase.
func Processes(clients int) error {
	if os.Geteuid() == 0 {
		return nil
	}
	need := uint64(clients + ProcsBase)
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NPROC, &lim); err != nil {
		return fmt.Errorf("read the process limit: %v", err)
	}
	if lim.Cur < need && lim.Cur < lim.Max {
		raised := lim
		raised.Cur = lim.Max
		if err := unix.Setrlimit(unix.RLIMIT_NPROC, &raised); err == nil {
			lim = raised
		}
	}
	if lim.Cur < need {
		return fmt.Errorf("process limit is %d but %d clients need %d: raise it (ulimit -u %d) or use fewer clients",
			lim.Cur, clients, need, need)
	}
	return nil
}

// EphemeralPorts checks that the local port range holds PortsPerClient × clients ports.
func EphemeralPorts(clients int, file string) error {
	if file == "" {
		file = "/proc/sys/net/ipv4/ip_local_port_range"
	}
	b, err := os.ReadFile(file)
	if err != nil {
		if os.IsNotExist(err) {
			return nil // not Linux with procfs: nothing to check
		}
		return fmt.Errorf("read the ephemeral port range: %v", err)
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return fmt.Errorf("ephemeral port range in %s is %q: expected two numbers", file, strings.TrimSpace(string(b)))
	}
	lo, err1 := strconv.Atoi(f[0])
	hi, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil || hi < lo {
		return fmt.Errorf("ephemeral port range in %s is %q: expected two numbers", file, strings.TrimSpace(string(b)))
	}
	have, need := hi-lo+1, PortsPerClient*clients
	if have < need {
		return fmt.Errorf("ephemeral port range %d-%d has %d ports but %d clients need %d: widen it (sysctl -w net.ipv4.ip_local_port_range=\"1024 65535\") or use fewer clients",
			lo, hi, have, clients, need)
	}
	return nil
}

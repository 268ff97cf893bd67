package origin

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/profiles"
)

// runDirPattern names the origin's run directories; ownerFile in each holds the pid of the
// origin that made it.
const (
	runDirPattern = "go-ffmpeg-hls-swarm-origin-"
	ownerFile     = "origin.pid"
)

// removeOrphanedRunDirs deletes run directories under base left by origins that were killed
// (SIGKILL leaves no chance to clean up): those whose owner process is gone, and those without
// an owner file that are older than a minute. Failures are logged, not fatal.
func removeOrphanedRunDirs(base string, log *slog.Logger) {
	dirs, _ := filepath.Glob(filepath.Join(base, runDirPattern+"*"))
	for _, d := range dirs {
		if !orphaned(d, time.Now()) {
			continue
		}
		if err := os.RemoveAll(d); err != nil {
			log.Debug("cannot remove an orphaned run directory", "dir", d, "err", err)
			continue
		}
		log.Info("removed the run directory of an origin that was killed", "dir", d)
	}
}

func orphaned(dir string, now time.Time) bool {
	b, err := os.ReadFile(filepath.Join(dir, ownerFile))
	if err != nil {
		fi, serr := os.Stat(dir)
		return errors.Is(err, os.ErrNotExist) && serr == nil && fi.IsDir() && now.Sub(fi.ModTime()) > time.Minute
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return false
	}
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// tmpfsBase is /dev/shm when it is usable and has room for twice the profile's segments
// (segments belong in memory; Docker's default /dev/shm is only 64 MiB), else the temp directory.
func tmpfsBase(p profiles.Origin, log *slog.Logger) string {
	const shm = "/dev/shm"
	fi, err := os.Stat(shm)
	if err != nil || !fi.IsDir() || !dirWritable(shm) {
		return os.TempDir()
	}
	need := 2 * hlsBytes(p)
	var st syscall.Statfs_t
	if err := syscall.Statfs(shm, &st); err == nil && st.Bavail*uint64(st.Bsize) < need {
		log.Warn("not enough room on /dev/shm for the segments; using the temp directory",
			"free_mib", st.Bavail*uint64(st.Bsize)>>20, "need_mib", need>>20, "dir", os.TempDir())
		return os.TempDir()
	}
	return shm
}

// hlsBytes estimates the bytes of segments on disk at once: every rendition's maxrate plus
// audio, for the listed segments, the two kept after them and the one being written.
func hlsBytes(p profiles.Origin) uint64 {
	var kbps int
	for _, r := range p.Video {
		kbps += max(r.MaxrateK, r.BitrateK) + p.Audio.BitrateK
	}
	return uint64(kbps) * 1000 / 8 * uint64(p.SegmentSeconds) * uint64(p.ListSize+3)
}

// removeHLSFiles deletes playlists, segments and FFmpeg's temporary files from dir.
func removeHLSFiles(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("clean HLS directory: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		switch filepath.Ext(name) {
		case ".ts", ".m3u8", ".m4s", ".tmp":
			if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("remove stale %s: %w", name, err)
			}
		}
	}
	return nil
}

func firstLine(out []byte, err error) string {
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return err.Error()
}

// othersCanRead checks that nginx's workers (nobody, when started as root) can reach dir:
// o+x on it and every parent, o+r on dir. When they cannot, the workers run as root instead.
func othersCanRead(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("resolve --dir %s: %w", dir, err)
	}
	for d, need := abs, os.FileMode(0o005); ; d, need = filepath.Dir(d), 0o001 {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("stat %s: %w", d, err)
		}
		if fi.Mode().Perm()&need != need {
			return fmt.Errorf("user nobody cannot read %s (mode %s): chmod o+rx %s to keep nginx's workers unprivileged", d, fi.Mode().Perm(), d)
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

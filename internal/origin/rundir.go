package origin

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
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

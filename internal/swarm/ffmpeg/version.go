// Package ffmpeg is the swarm's FFmpeg engine: it detects what the installed FFmpeg can do,
// builds each client's argv from that, and turns FFmpeg's -progress and log output into events.
package ffmpeg

import (
	"fmt"
	"regexp"
	"strconv"
)

// Version is an FFmpeg release number as printed by `ffmpeg -version`.
type Version struct {
	Major, Minor int
	// Raw is the version word as printed ("5.1.9-0+deb12u1", "n7.1", "N-118000-gabc").
	Raw string
}

// Known reports whether the version could be read as a release number. Git builds
// ("N-118000-g…") are unknown: their capabilities come from the option listing alone.
func (v Version) Known() bool { return v.Major > 0 }

// AtLeast reports whether v is major.minor or newer. An unknown version counts as newest.
func (v Version) AtLeast(major, minor int) bool {
	if !v.Known() {
		return true
	}
	return v.Major > major || (v.Major == major && v.Minor >= minor)
}

func (v Version) String() string {
	if v.Raw != "" {
		return v.Raw
	}
	return fmt.Sprintf("%d.%d", v.Major, v.Minor)
}

var versionLine = regexp.MustCompile(`(?m)^ffmpeg version (\S+)`)
var releaseNumber = regexp.MustCompile(`^n?(\d+)\.(\d+)`)

// ParseVersion reads the first line of `ffmpeg -version`.
func ParseVersion(out string) (Version, error) {
	m := versionLine.FindStringSubmatch(out)
	if m == nil {
		return Version{}, fmt.Errorf("no \"ffmpeg version\" line in `ffmpeg -version` output")
	}
	v := Version{Raw: m[1]}
	if r := releaseNumber.FindStringSubmatch(m[1]); r != nil {
		v.Major, _ = strconv.Atoi(r[1])
		v.Minor, _ = strconv.Atoi(r[2])
	}
	return v, nil
}

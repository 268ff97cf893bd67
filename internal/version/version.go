// Package version reports the build's version, set at link time by Nix, ko and the Makefile
// with -ldflags "-X github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/version.Version=…".
package version

import "runtime/debug"

// Version and Commit are overridden with -ldflags -X at build time.
var (
	Version = "dev"
	Commit  = ""
)

// String returns "VERSION (COMMIT)", reading the VCS stamp when no commit was linked in.
func String() string {
	c := Commit
	if c == "" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" && len(s.Value) >= 12 {
					c = s.Value[:12]
				}
			}
		}
	}
	if c == "" {
		return Version
	}
	return Version + " (" + c + ")"
}

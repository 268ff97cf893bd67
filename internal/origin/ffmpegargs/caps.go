package ffmpegargs

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
)

// Caps is what the detected FFmpeg can do, as far as the origin's argv depends on it.
type Caps struct {
	// Version is the version string from `ffmpeg -version` (e.g. "5.1.6-0+deb12u1").
	Version string
	// HLSFlags is the set of -hls_flags values the hls muxer accepts.
	HLSFlags map[string]bool
	// Encoders and Filters are the names this build has (only the ones the origin needs are checked).
	Encoders map[string]bool
	Filters  map[string]bool
	// StatsPeriod is true when -stats_period exists (FFmpeg >= 4.4).
	StatsPeriod bool
	// LevelPrefix is true when -loglevel accepts the level+ flag, which tags every log line
	// with its level ("[warning] …") so the origin can log it at that level.
	LevelPrefix bool
}

// Needed lists the encoders and filters every origin profile uses.
var neededEncoders = []string{"libx264", "aac"}
var neededFilters = []string{"testsrc2", "sine", "split", "scale"}

// Detect asks the FFmpeg at path for its version, hls muxer flags, encoders and filters.
func Detect(ctx context.Context, path string) (Caps, error) {
	run := func(args ...string) ([]byte, error) {
		out, err := exec.CommandContext(ctx, path, append([]string{"-hide_banner"}, args...)...).Output()
		if err != nil {
			return nil, fmt.Errorf("run %s %s: %w", path, strings.Join(args, " "), err)
		}
		return out, nil
	}
	version, err := run("-version")
	if err != nil {
		return Caps{}, err
	}
	hls, err := run("-h", "muxer=hls")
	if err != nil {
		return Caps{}, err
	}
	encoders, err := run("-encoders")
	if err != nil {
		return Caps{}, err
	}
	filters, err := run("-filters")
	if err != nil {
		return Caps{}, err
	}
	long, err := run("-h", "long")
	if err != nil {
		return Caps{}, err
	}
	c := ParseCaps(version, hls, encoders, filters, long)
	_, err = run("-loglevel", "level+error", "-version")
	c.LevelPrefix = err == nil
	return c, nil
}

var versionRE = regexp.MustCompile(`(?m)^ffmpeg version (\S+)`)

// ParseCaps reads the outputs of `ffmpeg -version`, `-h muxer=hls`, `-encoders`, `-filters`
// and `-h long` (split out so captured samples can be tested).
func ParseCaps(version, hlsHelp, encoders, filters, longHelp []byte) Caps {
	c := Caps{HLSFlags: map[string]bool{}, Encoders: map[string]bool{}, Filters: map[string]bool{}}
	if m := versionRE.FindSubmatch(version); m != nil {
		c.Version = string(m[1])
	}
	// The hls_flags values are the indented lines that follow "-hls_flags".
	inFlags := false
	sc := bufio.NewScanner(bytes.NewReader(hlsHelp))
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if strings.HasPrefix(f[0], "-") {
			inFlags = f[0] == "-hls_flags"
			continue
		}
		if inFlags && strings.HasPrefix(line, "     ") {
			c.HLSFlags[f[0]] = true
		}
	}
	// "-encoders": " V....D libx264   description"; "-filters": " ... testsrc2  |->V  description".
	for _, pair := range []struct {
		out []byte
		set map[string]bool
	}{{encoders, c.Encoders}, {filters, c.Filters}} {
		sc := bufio.NewScanner(bytes.NewReader(pair.out))
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) >= 2 && !strings.Contains(f[0], "=") {
				pair.set[f[1]] = true
			}
		}
	}
	c.StatsPeriod = bytes.Contains(longHelp, []byte("-stats_period"))
	return c
}

// Missing returns what this FFmpeg lacks for the origin, or nil.
func (c Caps) Missing() []string {
	var missing []string
	for _, e := range neededEncoders {
		if !c.Encoders[e] {
			missing = append(missing, "encoder "+e)
		}
	}
	for _, f := range neededFilters {
		if !c.Filters[f] {
			missing = append(missing, "filter "+f)
		}
	}
	for _, f := range []string{"delete_segments", "omit_endlist", "temp_file"} {
		if !c.HLSFlags[f] {
			missing = append(missing, "hls_flags "+f)
		}
	}
	return missing
}

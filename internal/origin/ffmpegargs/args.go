// Package ffmpegargs renders the test origin's FFmpeg command line from an origin profile and
// the capabilities of the FFmpeg that will run it: a live testsrc2 + sine encode to HLS.
package ffmpegargs

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/profiles"
)

// Playlist is the name of the playlist clients open: the media playlist of a one-rendition
// profile, or the master playlist of a ladder.
const Playlist = "stream.m3u8"

// ProgressFD is the file descriptor FFmpeg writes -progress key=value blocks to; the runner
// must pass a pipe as the child's fd 3 (exec.Cmd.ExtraFiles[0]).
const ProgressFD = 3

// IsLadder reports whether the profile has several renditions (master + media playlists).
func IsLadder(p profiles.Origin) bool { return len(p.Video) > 1 }

// MediaPlaylists returns the names of the media playlists FFmpeg rewrites every segment.
func MediaPlaylists(p profiles.Origin) []string {
	if !IsLadder(p) {
		return []string{Playlist}
	}
	names := make([]string, len(p.Video))
	for i, r := range p.Video {
		names[i] = "stream_" + r.Name + ".m3u8"
	}
	return names
}

// HLSFlags returns the -hls_flags value: the ones every origin needs plus independent_segments
// when this FFmpeg has it.
func HLSFlags(c Caps) string {
	flags := []string{"delete_segments", "omit_endlist", "temp_file"}
	if c.HLSFlags["independent_segments"] {
		flags = append(flags, "independent_segments")
	}
	return strings.Join(flags, "+")
}

// Build returns FFmpeg's arguments (without the program name) that encode the profile's live
// test pattern into dir as HLS: <dir>/stream.m3u8 plus segments, or for a ladder a master
// stream.m3u8, one stream_<rendition>.m3u8 per rendition and their segments.
func Build(p profiles.Origin, c Caps, dir string) []string {
	top := p.Video[0]
	gop := strconv.Itoa(p.SegmentSeconds * p.FPS) // one keyframe per segment: segments cut cleanly
	level := p.FFmpegLogLevel
	if c.LevelPrefix {
		level = "level+" + level
	}
	a := []string{"-hide_banner", "-nostdin", "-nostats", "-loglevel", level,
		"-progress", "pipe:" + strconv.Itoa(ProgressFD)}
	if c.StatsPeriod {
		a = append(a, "-stats_period", "1")
	}
	a = append(a,
		"-re", "-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=%d", top.Width, top.Height, p.FPS),
		"-re", "-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=%d:sample_rate=%d", p.Audio.FrequencyHz, p.Audio.SampleRate),
	)
	if IsLadder(p) {
		var graph strings.Builder
		fmt.Fprintf(&graph, "[0:v]split=%d", len(p.Video))
		for i := range p.Video {
			fmt.Fprintf(&graph, "[s%d]", i)
		}
		for i, r := range p.Video {
			fmt.Fprintf(&graph, ";[s%d]scale=%d:%d[v%d]", i, r.Width, r.Height, i)
		}
		a = append(a, "-filter_complex", graph.String())
		for i := range p.Video {
			a = append(a, "-map", fmt.Sprintf("[v%d]", i), "-map", "1:a")
		}
	} else {
		a = append(a, "-map", "0:v", "-map", "1:a")
	}
	a = append(a, "-c:v", "libx264", "-preset", p.Preset)
	if p.Tune != "" {
		a = append(a, "-tune", p.Tune)
	}
	a = append(a, "-pix_fmt", "yuv420p", "-g", gop, "-keyint_min", gop, "-sc_threshold", "0")
	for i, r := range p.Video {
		suffix := ":v"
		if IsLadder(p) {
			suffix = ":v:" + strconv.Itoa(i)
		}
		a = append(a, "-b"+suffix, kbps(r.BitrateK), "-maxrate"+suffix, kbps(r.MaxrateK), "-bufsize"+suffix, kbps(r.BufsizeK))
		if r.MinrateK > 0 {
			a = append(a, "-minrate"+suffix, kbps(r.MinrateK))
		}
	}
	a = append(a, "-c:a", "aac", "-b:a", kbps(p.Audio.BitrateK), "-ar", strconv.Itoa(p.Audio.SampleRate))
	a = append(a, "-f", "hls",
		"-hls_time", strconv.Itoa(p.SegmentSeconds),
		"-hls_list_size", strconv.Itoa(p.ListSize),
		// Keep two unlisted segments on disk so a client that just read the playlist can still fetch them.
		"-hls_delete_threshold", "2",
		"-hls_flags", HLSFlags(c),
		// Segment numbers from the wall clock: a restarted FFmpeg continues the sequence.
		"-hls_start_number_source", "epoch",
	)
	if IsLadder(p) {
		var vsm []string
		for i, r := range p.Video {
			vsm = append(vsm, fmt.Sprintf("v:%d,a:%d,name:%s", i, i, r.Name))
		}
		a = append(a, "-var_stream_map", strings.Join(vsm, " "),
			"-master_pl_name", Playlist,
			"-hls_segment_filename", filepath.Join(dir, "stream_%v_%05d.ts"),
			filepath.Join(dir, "stream_%v.m3u8"))
	} else {
		a = append(a, "-hls_segment_filename", filepath.Join(dir, "stream_%05d.ts"),
			filepath.Join(dir, Playlist))
	}
	return a
}

func kbps(k int) string { return strconv.Itoa(k) + "k" }

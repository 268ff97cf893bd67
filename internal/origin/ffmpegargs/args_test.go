package ffmpegargs

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/profiles"
)

func caps51(t *testing.T) Caps {
	t.Helper()
	read := func(name string) []byte {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	c := ParseCaps(read("version-5.1.txt"), read("hls-5.1.txt"), read("encoders-5.1.txt"), read("filters-5.1.txt"), read("help-long-5.1.txt"))
	c.LevelPrefix = true // `ffmpeg -loglevel level+error -version` succeeds on 5.1
	return c
}

func TestParseCapsFFmpeg51(t *testing.T) {
	c := caps51(t)
	if !strings.HasPrefix(c.Version, "5.1") {
		t.Errorf("version = %q, want 5.1…", c.Version)
	}
	for _, f := range []string{"delete_segments", "omit_endlist", "temp_file", "independent_segments", "single_file"} {
		if !c.HLSFlags[f] {
			t.Errorf("hls flag %s not detected", f)
		}
	}
	if c.HLSFlags["hls_time"] || c.HLSFlags["-var_stream_map"] {
		t.Errorf("options taken for flags: %v", c.HLSFlags)
	}
	if !c.StatsPeriod {
		t.Error("-stats_period not detected")
	}
	if m := c.Missing(); len(m) != 0 {
		t.Errorf("Missing() = %v, want nothing", m)
	}
	if got := HLSFlags(c); got != "delete_segments+omit_endlist+temp_file+independent_segments" {
		t.Errorf("HLSFlags = %s", got)
	}
}

func TestMissingAndOlderFFmpeg(t *testing.T) {
	c := ParseCaps([]byte("ffmpeg version 4.0"), []byte("  -hls_flags <flags>\n     delete_segments  x\n     omit_endlist x\n     temp_file x\n  -hls_x\n"),
		[]byte(" V..... libx264 H.264\n"), []byte(" ... testsrc2 |->V x\n ... scale V->V x\n"), nil)
	if got := HLSFlags(c); got != "delete_segments+omit_endlist+temp_file" {
		t.Errorf("without independent_segments: HLSFlags = %s", got)
	}
	if got := strings.Join(c.Missing(), ","); got != "encoder aac,filter sine,filter split" {
		t.Errorf("Missing() = %s", got)
	}
	if c.StatsPeriod {
		t.Error("StatsPeriod detected in empty help")
	}
	args := Build(profile(t, "default"), c, "/d")
	if slices.Contains(args, "-stats_period") {
		t.Error("-stats_period used though this FFmpeg lacks it")
	}
	if got := value(args, "-loglevel"); got != "warning" {
		t.Errorf("-loglevel %s, want warning without the level+ flag", got)
	}
}

func profile(t *testing.T, name string) profiles.Origin {
	t.Helper()
	set, err := profiles.Load()
	if err != nil {
		t.Fatal(err)
	}
	p, err := set.Origin(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// value returns the argument after the first occurrence of flag.
func value(args []string, flag string) string {
	i := slices.Index(args, flag)
	if i < 0 || i+1 >= len(args) {
		return ""
	}
	return args[i+1]
}

func TestBuild(t *testing.T) {
	tests := []struct {
		profile string
		want    map[string]string // flag → value
		absent  []string
		last    string
	}{
		{"default", map[string]string{"-g": "60", "-keyint_min": "60", "-sc_threshold": "0", "-preset": "veryfast",
			"-b:v": "2000k", "-maxrate:v": "2200k", "-bufsize:v": "4000k", "-b:a": "128k", "-ar": "48000",
			"-hls_time": "2", "-hls_list_size": "10", "-f": "lavfi", "-loglevel": "level+warning", "-progress": "pipe:3",
			"-hls_flags": "delete_segments+omit_endlist+temp_file+independent_segments",
			"-i":         "testsrc2=size=1280x720:rate=30", "-hls_segment_filename": "/d/stream_%05d.ts"},
			[]string{"-tune", "-var_stream_map", "-filter_complex", "-minrate:v"}, "/d/stream.m3u8"},
		{"low-latency", map[string]string{"-g": "30", "-preset": "ultrafast", "-tune": "zerolatency", "-hls_time": "1",
			"-hls_list_size": "6", "-maxrate:v": "2500k", "-bufsize:v": "2000k", "-b:a": "96k"}, nil, "/d/stream.m3u8"},
		{"stress-test", map[string]string{"-g": "50", "-i": "testsrc2=size=1280x720:rate=25", "-hls_list_size": "15", "-b:v": "1500k"}, nil, "/d/stream.m3u8"},
		{"4k-abr", map[string]string{"-g": "60", "-i": "testsrc2=size=3840x2160:rate=30", "-master_pl_name": "stream.m3u8",
			"-var_stream_map": "v:0,a:0,name:2160p v:1,a:1,name:1080p v:2,a:2,name:720p v:3,a:3,name:480p v:4,a:4,name:360p",
			"-filter_complex": "[0:v]split=5[s0][s1][s2][s3][s4];[s0]scale=3840:2160[v0];[s1]scale=1920:1080[v1];[s2]scale=1280:720[v2];[s3]scale=854:480[v3];[s4]scale=640:360[v4]",
			"-b:v:0":          "15000k", "-maxrate:v:4": "550k", "-bufsize:v:2": "4000k", "-hls_segment_filename": "/d/stream_%v_%05d.ts"},
			[]string{"-b:v"}, "/d/stream_%v.m3u8"},
	}
	for _, tc := range tests {
		t.Run(tc.profile, func(t *testing.T) {
			args := Build(profile(t, tc.profile), caps51(t), "/d")
			for flag, want := range tc.want {
				if got := value(args, flag); got != want {
					t.Errorf("%s = %q, want %q", flag, got, want)
				}
			}
			for _, flag := range tc.absent {
				if slices.Contains(args, flag) {
					t.Errorf("%s present, want absent", flag)
				}
			}
			if got := args[len(args)-1]; got != tc.last {
				t.Errorf("output = %s, want %s", got, tc.last)
			}
			if n := strings.Count(strings.Join(args, " "), "-re -f lavfi"); n != 2 {
				t.Errorf("%d real-time lavfi inputs, want 2 (video and audio)", n)
			}
		})
	}
}

func TestMediaPlaylists(t *testing.T) {
	if got := MediaPlaylists(profile(t, "default")); !slices.Equal(got, []string{"stream.m3u8"}) {
		t.Errorf("default: %v", got)
	}
	want := []string{"stream_2160p.m3u8", "stream_1080p.m3u8", "stream_720p.m3u8", "stream_480p.m3u8", "stream_360p.m3u8"}
	if got := MediaPlaylists(profile(t, "4k-abr")); !slices.Equal(got, want) {
		t.Errorf("4k-abr: %v", got)
	}
}

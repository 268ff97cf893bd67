package ffmpeg

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func caps(major, minor int, hls, http []string) Capabilities {
	c := Capabilities{Path: "/usr/bin/ffmpeg", Version: Version{Major: major, Minor: minor},
		HLSOptions: map[string]bool{}, HTTPOptions: map[string]bool{}}
	for _, o := range hls {
		c.HLSOptions[o] = true
	}
	for _, o := range http {
		c.HTTPOptions[o] = true
	}
	return c
}

var (
	httpAll  = []string{"reconnect", "reconnect_streamed", "reconnect_on_network_error", "reconnect_delay_max", "user_agent", "headers"}
	ffmpeg51 = caps(5, 1, []string{"live_start_index", "http_persistent"}, httpAll)
	ffmpeg61 = caps(6, 1, []string{"live_start_index", "http_persistent", "seg_max_retry"}, httpAll)
	ffmpeg80 = caps(8, 0, []string{"live_start_index", "http_persistent", "seg_max_retry"}, append(httpAll, "reconnect_max_retries"))
	// An old or stripped build without the reconnect options.
	ffmpegBare = caps(4, 4, []string{"live_start_index"}, []string{"user_agent", "headers"})
)

// pairs returns "-flag value" pairs of argv joined, for containment checks.
func joined(argv []string) string { return " " + strings.Join(argv, " ") + " " }

func TestArgsExact51(t *testing.T) {
	got, err := ffmpeg51.Args(ClientOptions{URL: "http://127.0.0.1:8080/stream.m3u8", Variant: "all",
		Timeout: 15 * time.Second, Reconnect: true, ReconnectDelayMax: 5 * time.Second, SegmentRetries: 3,
		UserAgent: "swarm/1", Headers: []string{"X-Test: a b", "Authorization:Bearer t"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/usr/bin/ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-loglevel", "level+verbose",
		"-progress", "pipe:3", "-stats_period", "1", "-user_agent", "swarm/1", "-headers", "X-Test: a b\r\nAuthorization: Bearer t\r\n",
		"-rw_timeout", "15000000", "-reconnect", "1", "-reconnect_streamed", "1", "-reconnect_on_network_error", "1",
		"-reconnect_delay_max", "5", "-i", "http://127.0.0.1:8080/stream.m3u8",
		"-map", "0:v?", "-map", "0:a?", "-c", "copy", "-f", "mpegts", "-y", "/dev/null"}
	if !slices.Equal(got, want) {
		t.Fatalf("argv\n got %q\nwant %q", got, want)
	}
}

func TestArgsPerVersion(t *testing.T) {
	base := ClientOptions{URL: "http://h/s.m3u8", Reconnect: true, ReconnectDelayMax: 1500 * time.Millisecond, SegmentRetries: 2}
	tests := []struct {
		name    string
		caps    Capabilities
		opts    ClientOptions
		has     []string
		hasNot  []string
		errLike string
	}{
		{name: "5.1 has no seg_max_retry", caps: ffmpeg51, opts: base,
			has: []string{"-reconnect 1", "-reconnect_delay_max 2"}, hasNot: []string{"-seg_max_retry", "datetime"}},
		{name: "6.1 retries segments", caps: ffmpeg61, opts: base, has: []string{"-seg_max_retry 2", "-reconnect_streamed 1"}},
		{name: "8.0", caps: ffmpeg80, opts: base, has: []string{"-seg_max_retry 2", "-reconnect_on_network_error 1"}},
		{name: "no reconnect options in this build", caps: ffmpegBare, opts: base,
			hasNot: []string{"-reconnect", "-seg_max_retry"}, has: []string{"-stats_period 1"}},
		{name: "before 4.4: no -stats_period", caps: caps(4, 3, nil, nil), opts: base, hasNot: []string{"-stats_period"}},
		{name: "reconnect off", caps: ffmpeg80, opts: ClientOptions{URL: "http://h/s.m3u8"},
			hasNot: []string{"-reconnect", "-seg_max_retry", "-rw_timeout", "-user_agent", "-headers"}},
		{name: "first variant", caps: ffmpeg51, opts: ClientOptions{URL: "http://h/s.m3u8", Variant: "first"},
			has: []string{"-map 0:v:0? -map 0:a:0?"}},
		{name: "highest maps all of the chosen variant", caps: ffmpeg51, opts: ClientOptions{URL: "http://h/v1.m3u8", Variant: "highest"},
			has: []string{"-i http://h/v1.m3u8 -map 0:v? -map 0:a?"}},
		{name: "debug log level", caps: ffmpeg51, opts: ClientOptions{URL: "http://h/s.m3u8", LogLevel: "debug"},
			has: []string{"-loglevel level+debug"}},
		{name: "bad variant", caps: ffmpeg51, opts: ClientOptions{URL: "http://h/s.m3u8", Variant: "middle"}, errLike: "valid variants"},
		{name: "bad header", caps: ffmpeg51, opts: ClientOptions{URL: "http://h/s.m3u8", Headers: []string{"NoColon"}}, errLike: "Name: value"},
		{name: "header injection", caps: ffmpeg51, opts: ClientOptions{URL: "http://h/s.m3u8", Headers: []string{"A: b\r\nC: d"}}, errLike: "one line"},
		{name: "log flags", caps: ffmpeg51, opts: ClientOptions{URL: "http://h/s.m3u8", LogLevel: "repeat+info"}, errLike: "plain level"},
		{name: "no URL", caps: ffmpeg51, opts: ClientOptions{}, errLike: "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			argv, err := tt.caps.Args(tt.opts)
			if tt.errLike != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errLike) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.errLike)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			j := joined(argv)
			for _, h := range tt.has {
				if !strings.Contains(j, " "+h+" ") {
					t.Errorf("argv lacks %q: %s", h, j)
				}
			}
			for _, h := range tt.hasNot {
				if strings.Contains(j, h) {
					t.Errorf("argv has %q: %s", h, j)
				}
			}
			if argv[0] != tt.caps.Path || !strings.Contains(j, " -progress pipe:3 ") || !strings.HasSuffix(j, " -c copy -f mpegts -y /dev/null ") {
				t.Errorf("argv frame wrong: %s", j)
			}
		})
	}
}

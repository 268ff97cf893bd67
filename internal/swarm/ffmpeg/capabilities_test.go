package ffmpeg

import (
	"context"
	"os"
	"testing"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

func TestParseOptionsCaptured(t *testing.T) {
	hls, err := os.ReadFile("testdata/5.1/help-demuxer-hls.txt")
	if err != nil {
		t.Fatal(err)
	}
	http, err := os.ReadFile("testdata/5.1/help-protocol-http.txt")
	if err != nil {
		t.Fatal(err)
	}
	h := ParseOptions(string(hls), "hls demuxer AVOptions:")
	for _, want := range []string{"live_start_index", "max_reload", "m3u8_hold_counters", "http_persistent", "seg_format_options"} {
		if !h[want] {
			t.Errorf("hls option %q not found in %v", want, h)
		}
	}
	if h["seg_max_retry"] {
		t.Error("5.1 has no seg_max_retry, but it was parsed")
	}
	p := ParseOptions(string(http), "http AVOptions:")
	for _, want := range []string{"reconnect", "reconnect_streamed", "reconnect_on_network_error", "reconnect_delay_max", "user_agent", "headers"} {
		if !p[want] {
			t.Errorf("http option %q not found", want)
		}
	}
	if p["auth_type"] != true || p["none"] {
		t.Errorf("enum values must not count as options: %v", p)
	}
}

func TestParseInputProtocolsCaptured(t *testing.T) {
	out, err := os.ReadFile("testdata/5.1/protocols.txt")
	if err != nil {
		t.Fatal(err)
	}
	p := ParseInputProtocols(string(out))
	for _, want := range []string{"http", "https", "tcp", "tls", "hls", "file"} {
		if !p[want] {
			t.Errorf("input protocol %q missing: %v", want, p)
		}
	}
	if p["icecast"] || p["Input:"] || p["Output:"] {
		t.Errorf("output-only protocol or header parsed as input: %v", p)
	}
	c := Capabilities{InputProtocols: p}
	if !c.CanOpen("https") || c.CanOpen("nosuchproto") {
		t.Error("CanOpen")
	}
}

func TestParseOptionsSections(t *testing.T) {
	help := "Demuxer hls [Apple HTTP Live Streaming]:\nhls demuxer AVOptions:\n  -seg_max_retry     <int>        .D......... Maximum number of times to reload a segment on error. (from 0 to INT_MAX) (default 0)\n\nother AVOptions:\n  -foo   <int>  x\n"
	got := ParseOptions(help, "hls demuxer AVOptions:")
	if !got["seg_max_retry"] || got["foo"] {
		t.Fatalf("got %v", got)
	}
	if all := ParseOptions(help, ""); !all["foo"] || !all["seg_max_retry"] {
		t.Fatalf("no header: got %v", all)
	}
}

// TestDetectInstalled runs the FFmpeg on this machine.
func TestDetectInstalled(t *testing.T) {
	path := testenv.RequireBinary(t, "ffmpeg")
	c, err := Detect(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Version.Known() && c.Version.Raw == "" {
		t.Fatalf("no version: %+v", c.Version)
	}
	if !c.HTTP("reconnect") || !c.HTTP("user_agent") || !c.HLS("live_start_index") || !c.CanOpen("http") {
		t.Fatalf("basic options missing: hls=%v http=%v", c.HLSOptions, c.HTTPOptions)
	}
	if c.Version.Known() && c.HLS("seg_max_retry") != c.Version.AtLeast(6, 0) {
		t.Errorf("FFmpeg %s: seg_max_retry=%v, expected it exactly from 6.0", c.Version, c.HLS("seg_max_retry"))
	}
	if _, err := Detect(context.Background(), "/nonexistent/ffmpeg"); err == nil {
		t.Error("Detect of a missing binary succeeded")
	}
}

// TestCapturedNewer reads what a real FFmpeg 7.1 (Debian trixie) and 9.0 (Debian sid) print for
// the four commands Detect runs (captured with scripts/ffmpeg-root.sh trixie|sid).
func TestCapturedNewer(t *testing.T) {
	for _, tc := range []struct {
		dir          string
		major, minor int
		raw          string
	}{{"7.1", 7, 1, "7.1.5-0+deb13u1"}, {"9.0", 9, 0, "9.0.2-4"}} {
		t.Run(tc.dir, func(t *testing.T) { checkCaptured(t, tc.dir, tc.major, tc.minor, tc.raw) })
	}
}

func checkCaptured(t *testing.T, dir string, major, minor int, raw string) {
	read := func(name string) string {
		b, err := os.ReadFile("testdata/" + dir + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	v, err := ParseVersion(read("version.txt"))
	if err != nil || v.Major != major || v.Minor != minor || v.Raw != raw {
		t.Fatalf("version %+v, %v", v, err)
	}
	h := ParseOptions(read("help-demuxer-hls.txt"), "hls demuxer AVOptions:")
	for _, want := range []string{"live_start_index", "max_reload", "http_persistent", "seg_max_retry", "allowed_segment_extensions"} {
		if !h[want] {
			t.Errorf("hls option %q not found in %v", want, h)
		}
	}
	p := ParseOptions(read("help-protocol-http.txt"), "http AVOptions:")
	for _, want := range []string{"reconnect", "reconnect_streamed", "reconnect_on_network_error", "reconnect_delay_max",
		"reconnect_max_retries", "respect_retry_after", "user_agent", "headers", "http_proxy"} {
		if !p[want] {
			t.Errorf("http option %q not found", want)
		}
	}
	protos := ParseInputProtocols(read("protocols.txt"))
	for _, want := range []string{"http", "https", "tcp", "tls", "file"} {
		if !protos[want] {
			t.Errorf("input protocol %q missing: %v", want, protos)
		}
	}
	// The deprecated hls: protocol (not the hls demuxer) is gone in 9.0.
	if want := major < 9; protos["hls"] != want {
		t.Errorf("input protocol hls listed: %v, want %v", protos["hls"], want)
	}
}

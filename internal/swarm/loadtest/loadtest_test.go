package loadtest

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/config"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/report"
)

func TestShellQuoteRoundTrips(t *testing.T) {
	argv := []string{"ffmpeg", "-headers", "X-A: 1\r\nX-B: \\ 'q'\t\x01\r\n", "-user_agent", "it's a \"test\"", "-i",
		"http://127.0.0.1:8080/a b.m3u8?x=1&y=$HOME", "", "-map", "0:v?", "plain-arg_1.ts"}
	line := ShellQuote(argv)
	if !strings.HasPrefix(line, "ffmpeg -headers ") || strings.Contains(line, "'plain-arg_1.ts'") {
		t.Errorf("quoted too much or too little: %s", line)
	}
	// A real shell must read the line back as the same words.
	if strings.Contains(line, "\n") {
		t.Errorf("not one line: %q", line)
	}
	out, err := exec.Command("bash", "-c", "eval \"set -- $1\"; for a in \"$@\"; do printf '%s\\0' \"$a\"; done", "sh", line).Output()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	if !slices.Equal(got, argv) {
		t.Errorf("shell read back %q, want %q", got, argv)
	}
}

func TestEngineConfigCarriesEverySetting(t *testing.T) {
	s := config.Settings{URL: "http://127.0.0.1/x.m3u8", Clients: 7, RampRate: 2, Variant: "lowest", FFmpegPath: "/usr/bin/ffmpeg",
		Reconnect: true, SegmentRetries: 4, UserAgent: "ua", Headers: []string{"X-A: 1"}, Seed: 42, FFmpegLogLevel: "debug"}
	c := EngineConfig(s, nil)
	if c.URL != s.URL || c.Clients != 7 || c.RampRate != 2 || c.Variant != "lowest" || c.FFmpegPath != s.FFmpegPath ||
		!c.Reconnect || c.SegmentRetries != 4 || c.UserAgent != "ua" || !slices.Equal(c.Headers, s.Headers) || c.Seed != 42 ||
		c.FFmpegLogLevel != "debug" {
		t.Errorf("engine config %+v", c)
	}
}

func TestCheckThresholdsParse(t *testing.T) {
	if _, err := report.ParseThresholds(checkThresholds); err != nil {
		t.Fatal(err)
	}
}

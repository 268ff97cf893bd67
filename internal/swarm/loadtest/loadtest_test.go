package loadtest

import (
	"slices"
	"testing"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/config"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/report"
)

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

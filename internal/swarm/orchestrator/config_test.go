package orchestrator_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/event"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/orchestrator"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

func valid() orchestrator.Config {
	return orchestrator.Config{URL: "http://127.0.0.1:8080/stream.m3u8", Clients: 10, RampRate: 5}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		change  func(*orchestrator.Config)
		errLike string
	}{
		{"valid", func(*orchestrator.Config) {}, ""},
		{"all fields", func(c *orchestrator.Config) {
			c.Variant, c.Timeout, c.Reconnect, c.ReconnectDelayMax, c.SegmentRetries = "lowest", 5*time.Second, true, 3*time.Second, 2
			c.Headers, c.FFmpegLogLevel, c.GracePeriod = []string{"X-A: 1"}, "debug", time.Second
		}, ""},
		{"ramp-rate 0 starts all at once", func(c *orchestrator.Config) { c.RampRate = 0 }, ""},
		{"timeout 0 leaves FFmpeg's", func(c *orchestrator.Config) { c.Timeout = 0 }, ""},
		{"negative timeout", func(c *orchestrator.Config) { c.Timeout = -time.Second }, "--timeout is -1s"},
		{"zero clients", func(c *orchestrator.Config) { c.Clients = 0 }, "--clients is 0"},
		{"negative ramp", func(c *orchestrator.Config) { c.RampRate = -1 }, "--ramp-rate"},
		{"negative jitter", func(c *orchestrator.Config) { c.RampJitter = -time.Second }, "--ramp-jitter"},
		{"negative duration", func(c *orchestrator.Config) { c.Duration = -time.Second }, "--duration"},
		{"bad variant", func(c *orchestrator.Config) { c.Variant = "best" }, "valid variants are all, first, highest, lowest"},
		{"tiny timeout", func(c *orchestrator.Config) { c.Timeout = time.Microsecond }, "at least 1ms"},
		{"bad header", func(c *orchestrator.Config) { c.Headers = []string{"nocolon"} }, "--header"},
		{"bad log level", func(c *orchestrator.Config) { c.FFmpegLogLevel = "loud" }, "FFmpeg log level"},
		{"bad URL", func(c *orchestrator.Config) { c.URL = "file:///x.m3u8" }, "scheme must be http or https"},
		{"no URL", func(c *orchestrator.Config) { c.URL = "" }, "no stream URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.change(&c)
			err := c.Validate()
			if tt.errLike == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.errLike) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want one line with %q", err, tt.errLike)
			}
		})
	}
	c := valid()
	c.Clients, c.Variant = -1, "x"
	if err := c.Validate(); err == nil || len(strings.Split(err.Error(), "\n")) != 2 {
		t.Fatalf("two problems should give two lines: %v", err)
	}
}

// origin serves a master playlist with two variants and a media playlist.
func masterServer(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/master.m3u8":
			_, _ = w.Write([]byte("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=500000\nlow/index.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=3000000\nhigh/index.m3u8\n"))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestCommandLine(t *testing.T) {
	ffmpeg := testenv.RequireBinary(t, "ffmpeg")
	srv := masterServer(t)
	c := valid()
	c.URL, c.FFmpegPath, c.Variant, c.UserAgent, c.Timeout = srv.URL+"/master.m3u8", ffmpeg, "highest", "swarm-test", 2*time.Second
	argv, err := orchestrator.CommandLine(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.Index(argv, "-i")
	if argv[0] != ffmpeg || i < 0 || argv[i+1] != srv.URL+"/high/index.m3u8" {
		t.Fatalf("argv %q", argv)
	}
	if j := slices.Index(argv, "-user_agent"); j < 0 || argv[j+1] != "swarm-test" {
		t.Fatalf("argv %q", argv)
	}
	if j := slices.Index(argv, "-rw_timeout"); j < 0 || argv[j+1] != strconv.Itoa(2000000) {
		t.Fatalf("argv %q", argv)
	}
	c.Variant = "lowest"
	if argv, err = orchestrator.CommandLine(context.Background(), c); err != nil || argv[slices.Index(argv, "-i")+1] != srv.URL+"/low/index.m3u8" {
		t.Fatalf("lowest: %q %v", argv, err)
	}
}

func TestPreflightErrors(t *testing.T) {
	ffmpeg := testenv.RequireBinary(t, "ffmpeg")
	srv := masterServer(t)
	tests := []struct {
		name    string
		change  func(*orchestrator.Config)
		errLike string
	}{
		{"ok", func(*orchestrator.Config) {}, ""},
		{"missing ffmpeg", func(c *orchestrator.Config) { c.FFmpegPath = "/nonexistent/ffmpeg" }, "ffmpeg not found"},
		{"wrong path", func(c *orchestrator.Config) { c.URL = srv.URL + "/nope.m3u8" }, "answers HTTP 404"},
		{"unreachable host", func(c *orchestrator.Config) {
			c.URL = "http://127.0.0.1:" + strconv.Itoa(testenv.FreePort(t)) + "/stream.m3u8"
		}, "unreachable"},
		{"bad flag value", func(c *orchestrator.Config) { c.Clients = -3 }, "--clients is -3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			c.URL, c.FFmpegPath, c.Timeout = srv.URL+"/master.m3u8", ffmpeg, 2*time.Second
			tt.change(&c)
			err := orchestrator.Preflight(context.Background(), c)
			if tt.errLike == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.errLike) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want one line with %q", err, tt.errLike)
			}
		})
	}
}

func TestRunFailsBeforeStartingClients(t *testing.T) {
	srv := masterServer(t)
	c := valid()
	c.URL, c.FFmpegPath = srv.URL+"/master.m3u8", "/nonexistent/ffmpeg"
	rec := &recorder{}
	if err := orchestrator.Run(context.Background(), c, rec); err == nil {
		t.Fatal("Run with a missing ffmpeg succeeded")
	}
	c.FFmpegPath, c.URL, c.Variant = testenv.RequireBinary(t, "ffmpeg"), srv.URL+"/gone.m3u8", "highest"
	if err := orchestrator.Run(context.Background(), c, rec); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("Run with an unreachable master playlist: %v", err)
	}
	if n := rec.count(event.ClientStarted); n != 0 {
		t.Fatalf("%d clients started", n)
	}
}

package origin_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/grafov/m3u8"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/origin"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/origin/origintest"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/profiles"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

// The Cache-Control values PROFILES.md asks for, written out (not taken from nginxconf).
const (
	segmentCC = "public, max-age=60, immutable, no-transform"
	masterCC  = "public, max-age=5, no-transform"
)

func mediaCC(segment int) string {
	return map[int]string{
		1: "public, max-age=0, stale-while-revalidate=1, no-transform",
		2: "public, max-age=1, stale-while-revalidate=2, no-transform",
	}[segment]
}

var client = &http.Client{Timeout: 10 * time.Second}

func do(t *testing.T, method, url string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return resp, string(b)
}

func mediaPlaylist(t *testing.T, url string) *m3u8.MediaPlaylist {
	t.Helper()
	resp, body := do(t, http.MethodGet, url)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d", url, resp.StatusCode)
	}
	pl, typ, err := m3u8.DecodeFrom(strings.NewReader(body), true)
	if err != nil || typ != m3u8.MEDIA {
		t.Fatalf("%s is not a media playlist (%v):\n%s", url, err, body)
	}
	return pl.(*m3u8.MediaPlaylist)
}

// checkSegments asserts every listed segment lasts the profile's duration ±10 %.
func checkSegments(t *testing.T, pl *m3u8.MediaPlaylist, segment int) {
	t.Helper()
	n := 0
	for _, s := range pl.Segments {
		if s == nil {
			continue
		}
		n++
		if d := s.Duration / float64(segment); d < 0.9 || d > 1.1 {
			t.Errorf("segment %s lasts %.3fs, want %ds ±10%%", s.URI, s.Duration, segment)
		}
	}
	if n == 0 {
		t.Error("playlist lists no segments")
	}
	var durations []string
	for _, s := range pl.Segments[:pl.Count()] {
		durations = append(durations, strconv.FormatFloat(s.Duration, 'f', 3, 64))
	}
	t.Logf("EXTINF of %d segments: %s", n, strings.Join(durations, " "))
	if pl.TargetDuration < float64(segment) || pl.TargetDuration > float64(segment)+1 {
		t.Errorf("target duration %v, want %d", pl.TargetDuration, segment)
	}
}

func TestLiveProfiles(t *testing.T) {
	for _, name := range []string{"default", "low-latency"} {
		t.Run(name, func(t *testing.T) {
			o := origintest.Start(t, name, origintest.Small())
			seg := o.Profile.SegmentSeconds
			if want := map[string]int{"default": 2, "low-latency": 1}[name]; seg != want {
				t.Fatalf("segment %d s, want the profile's %d s", seg, want)
			}

			// The playlist refreshes once per segment: watch its newest segment change 5 times.
			newest := func() string {
				pl := mediaPlaylist(t, o.PlaylistURL)
				return pl.Segments[pl.Count()-1].URI
			}
			var changes []time.Time
			last := newest()
			deadline := time.Now().Add(time.Duration(12*seg)*time.Second + 20*time.Second)
			for len(changes) < 5 && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
				if s := newest(); s != last {
					changes, last = append(changes, time.Now()), s
				}
			}
			if len(changes) < 5 {
				t.Fatalf("the playlist advanced %d times in %ds, want 5", len(changes), 12*seg+20)
			}
			cadence := changes[len(changes)-1].Sub(changes[0]) / time.Duration(len(changes)-1)
			if r := cadence.Seconds() / float64(seg); r < 0.6 || r > 1.4 {
				t.Errorf("playlist refreshes every %s, want about %ds", cadence, seg)
			}
			t.Logf("playlist refreshed every %s on average over %d changes (segment %d s)", cadence.Round(time.Millisecond), len(changes)-1, seg)

			pl := mediaPlaylist(t, o.PlaylistURL)
			checkSegments(t, pl, seg)
			if pl.Count() > uint(o.Profile.ListSize) {
				t.Errorf("playlist lists %d segments, profile says %d", pl.Count(), o.Profile.ListSize)
			}
			segURL := o.BaseURL + "/" + pl.Segments[pl.Count()-1].URI

			// Cache-Control, content types and /health.
			for _, tc := range []struct {
				url, cc, ctype string
			}{
				{o.PlaylistURL, mediaCC(seg), "application/vnd.apple.mpegurl"},
				{segURL, segmentCC, "video/mp2t"},
				{o.BaseURL + "/health", "no-store", "text/plain; charset=utf-8"},
			} {
				resp, body := do(t, http.MethodGet, tc.url)
				if resp.StatusCode != http.StatusOK {
					t.Errorf("GET %s = %d %s", tc.url, resp.StatusCode, body)
				}
				if got := resp.Header.Get("Cache-Control"); got != tc.cc {
					t.Errorf("GET %s: Cache-Control %q, want %q", tc.url, got, tc.cc)
				}
				if got := resp.Header.Get("Content-Type"); got != tc.ctype {
					t.Errorf("GET %s: Content-Type %q, want %q", tc.url, got, tc.ctype)
				}
			}
			if _, body := do(t, http.MethodGet, o.BaseURL+"/health"); body != "OK\n" && !strings.HasPrefix(body, "SLOW:") {
				t.Errorf("/health body %q, want OK (or SLOW on a busy machine)", body)
			}

			// HEAD, OPTIONS (CORS preflight), and every other method refused.
			for _, url := range []string{o.PlaylistURL, segURL} {
				resp, body := do(t, http.MethodHead, url)
				if resp.StatusCode != http.StatusOK || body != "" || resp.ContentLength <= 0 {
					t.Errorf("HEAD %s = %d, length %d, body %d bytes", url, resp.StatusCode, resp.ContentLength, len(body))
				}
				resp, _ = do(t, http.MethodOptions, url)
				if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "*" ||
					!strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "GET") {
					t.Errorf("OPTIONS %s = %d %v", url, resp.StatusCode, resp.Header)
				}
			}
			if resp, _ := do(t, http.MethodHead, o.BaseURL+"/health"); resp.StatusCode != http.StatusOK {
				t.Errorf("HEAD /health = %d", resp.StatusCode)
			}
			for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
				resp, _ := do(t, m, o.PlaylistURL)
				if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD, OPTIONS" {
					t.Errorf("%s = %d (Allow %q), want 405", m, resp.StatusCode, resp.Header.Get("Allow"))
				}
			}
			if resp, body := do(t, http.MethodGet, o.BaseURL+"/nginx_status"); resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, "Active connections:") {
				t.Errorf("/nginx_status = %d %q", resp.StatusCode, body)
			}
		})
	}
}

func TestLadderMasterPlaylist(t *testing.T) {
	o := origintest.Start(t, "4k-abr", origintest.WithResolution(320, 180), origintest.WithFPS(15))
	resp, body := do(t, http.MethodGet, o.PlaylistURL)
	if got := resp.Header.Get("Cache-Control"); got != masterCC {
		t.Errorf("master Cache-Control %q, want %q", got, masterCC)
	}
	pl, typ, err := m3u8.DecodeFrom(strings.NewReader(body), true)
	if err != nil || typ != m3u8.MASTER {
		t.Fatalf("not a master playlist (%v):\n%s", err, body)
	}
	master := pl.(*m3u8.MasterPlaylist)
	// Scaled to 320x180, each rung is named after its real height.
	wantURIs := []string{"stream_180p.m3u8", "stream_90p.m3u8", "stream_60p.m3u8", "stream_40p.m3u8", "stream_30p.m3u8"}
	if len(master.Variants) != len(wantURIs) {
		t.Fatalf("%d variants, want 5:\n%s", len(master.Variants), body)
	}
	for i, v := range master.Variants {
		if v.URI != wantURIs[i] {
			t.Errorf("variant %d is %s, want %s", i, v.URI, wantURIs[i])
		}
		if want := o.Profile.Video[i].BitrateK * 1000; v.Bandwidth < uint32(want) {
			t.Errorf("%s bandwidth %d, below the rendition's %d", v.URI, v.Bandwidth, want)
		}
		if want := fmt.Sprintf("%dx%d", o.Profile.Video[i].Width, o.Profile.Video[i].Height); v.Resolution != want {
			t.Errorf("%s resolution %s, want %s", v.URI, v.Resolution, want)
		}
		media := mediaPlaylist(t, o.BaseURL+"/"+v.URI)
		checkSegments(t, media, o.Profile.SegmentSeconds)
		if resp, _ := do(t, http.MethodGet, o.BaseURL+"/"+v.URI); resp.Header.Get("Cache-Control") != mediaCC(2) {
			t.Errorf("%s Cache-Control %q", v.URI, resp.Header.Get("Cache-Control"))
		}
	}
}

// TestNginxExporter scrapes /nginx_status with Debian's prometheus-nginx-exporter.
func TestNginxExporter(t *testing.T) {
	o := origintest.Start(t, "default", origintest.Small(), origintest.WithMinSegments(1))
	addr := testenv.StartNginxExporter(t, o.BaseURL+"/nginx_status")

	// Hold a keep-alive connection open so there is an active connection besides the scrape.
	keep := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	if resp, err := keep.Get(o.PlaylistURL); err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	metrics := map[string]float64{}
	testenv.WaitFor(t, 30*time.Second, "the exporter's nginx metrics", func() bool {
		resp, err := client.Get("http://" + addr + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) == 2 && strings.HasPrefix(f[0], "nginx_") {
				v, _ := strconv.ParseFloat(f[1], 64)
				metrics[f[0]] = v
			}
		}
		_, ok := metrics["nginx_connections_active"]
		return ok
	})
	t.Logf("exporter: nginx_up %v, nginx_connections_active %v, nginx_http_requests_total %v",
		metrics["nginx_up"], metrics["nginx_connections_active"], metrics["nginx_http_requests_total"])
	if metrics["nginx_up"] != 1 {
		t.Errorf("nginx_up = %v, want 1", metrics["nginx_up"])
	}
	if a := metrics["nginx_connections_active"]; a < 1 {
		t.Errorf("nginx_connections_active = %v, want >= 1", a)
	}
	if metrics["nginx_http_requests_total"] < 1 {
		t.Errorf("nginx_http_requests_total = %v", metrics["nginx_http_requests_total"])
	}
	keep.CloseIdleConnections()
}

func TestStopAndRestart(t *testing.T) {
	o := origintest.Start(t, "low-latency", origintest.Small())
	ff, ng := o.Origin.PIDs()
	workers := testenv.Children(ng)
	if ff == 0 || ng == 0 || len(workers) == 0 {
		t.Fatalf("ffmpeg %d, nginx %d, workers %v: want all running", ff, ng, workers)
	}

	// A crashed FFmpeg is restarted and the playlist becomes fresh again.
	if err := syscall.Kill(ff, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 30*time.Second, "a new ffmpeg", func() bool {
		p, _ := o.Origin.PIDs()
		return p != 0 && p != ff
	})
	ff, _ = o.Origin.PIDs()
	testenv.WaitFor(t, 60*time.Second, "/health 200 after the restart", func() bool {
		return o.Origin.Health().Code == http.StatusOK && len(mediaPlaylist(t, o.PlaylistURL).Segments) > 0
	})
	// So is a crashed nginx (master and workers).
	if err := syscall.Kill(-ng, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 30*time.Second, "a new nginx serving the playlist", func() bool {
		_, p := o.Origin.PIDs()
		if p == 0 || p == ng {
			return false
		}
		resp, err := client.Get(o.PlaylistURL)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	_, ng = o.Origin.PIDs()
	workers = testenv.Children(ng)

	start := time.Now()
	if err := o.Origin.Stop(); err != nil {
		t.Fatal(err)
	}
	procs := workers
	for _, pid := range []int{ff, ng} {
		if p, ok := testenv.ReadProc(pid); ok {
			procs = append(procs, p)
		}
	}
	for _, p := range procs {
		for p.Alive() && time.Since(start) < 5*time.Second {
			time.Sleep(20 * time.Millisecond)
		}
		if p.Alive() {
			t.Errorf("%s (pid %d) still alive 5 s after Stop", p.Comm, p.PID)
		}
	}
	if _, err := os.Stat(o.Origin.RunDir()); !os.IsNotExist(err) {
		t.Errorf("run directory %s still exists after Stop (%v)", o.Origin.RunDir(), err)
	}
}

// TestBelowRealTimeIsReported runs FFmpeg through a wrapper that reads its input at half speed
// (-readrate 0.5 instead of -re): a machine that cannot keep real time, made deterministic.
// The origin must say so in its log and in /health.
func TestBelowRealTimeIsReported(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real FFmpeg and nginx")
	}
	ffmpeg := testenv.RequireBinary(t, "ffmpeg")
	nginx := testenv.RequireBinary(t, "nginx")
	if out, _ := exec.Command(ffmpeg, "-hide_banner", "-h", "long").Output(); !strings.Contains(string(out), "-readrate") {
		t.Skip("this FFmpeg has no -readrate (needs FFmpeg >= 5.0)")
	}
	slow := filepath.Join(t.TempDir(), "ffmpeg-half-speed")
	script := "#!/bin/sh\nfor a do shift; if [ \"$a\" = -re ]; then set -- \"$@\" -readrate 0.5; else set -- \"$@\" \"$a\"; fi; done\nexec " + ffmpeg + " \"$@\"\n"
	if err := os.WriteFile(slow, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	set, err := profiles.Load()
	if err != nil {
		t.Fatal(err)
	}
	p, _ := set.Origin("default")
	var log testenv.Buffer
	ctx := context.Background()
	plan, err := origin.Prepare(ctx, origin.Config{Profile: p, Overrides: origin.Overrides{Width: 320, Height: 180, FPS: 15},
		FFmpeg: slow, Nginx: nginx, Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	o, err := origin.Start(ctx, plan)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.Stop() })
	testenv.WaitFor(t, 60*time.Second, "/health to report SLOW", func() bool {
		resp, err := client.Get(o.BaseURL() + "/health")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == http.StatusOK && strings.HasPrefix(string(b), "SLOW: ffmpeg encodes at 0.") &&
			resp.Header.Get("X-FFmpeg-Speed") != ""
	})
	if s := o.Health(); s.Speed < 0.4 || s.Speed > 0.6 {
		t.Errorf("measured speed %.2f, want about 0.5", s.Speed)
	}
	if !strings.Contains(log.String(), "ffmpeg encodes below real time") {
		t.Errorf("the log does not say FFmpeg is below real time:\n%s", log.String())
	}
}

// TestPrivateDirServed: as root, a --dir that nobody cannot read is still served (the workers
// run as root then, with a warning), and stale files in it are removed at start.
func TestPrivateDirServed(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real FFmpeg and nginx")
	}
	testenv.RequireRoot(t)
	ffmpeg := testenv.RequireBinary(t, "ffmpeg")
	nginx := testenv.RequireBinary(t, "nginx")
	dir := t.TempDir() // 0700
	stale := filepath.Join(dir, "stream_00007.ts")
	if err := os.WriteFile(stale, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := profiles.Load()
	if err != nil {
		t.Fatal(err)
	}
	p, _ := set.Origin("low-latency")
	var log testenv.Buffer
	plan, err := origin.Prepare(context.Background(), origin.Config{Profile: p, Overrides: origin.Overrides{Width: 320, Height: 180, FPS: 15},
		FFmpeg: ffmpeg, Nginx: nginx, Dir: dir, Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	o, err := origin.Start(context.Background(), plan)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.Stop() })
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale segment %s survived the start", stale)
	}
	testenv.WaitFor(t, 60*time.Second, "segments served from the private dir", func() bool {
		resp, err := client.Get(o.PlaylistURL())
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == http.StatusOK && strings.Contains(string(b), "#EXTINF:")
	})
	if !strings.Contains(log.String(), "nginx workers run as root") {
		t.Errorf("no warning about root workers in the log:\n%s", log.String())
	}
	if err := o.Stop(); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("HLS files left in %s after stop: %d entries", dir, len(entries))
	}
}

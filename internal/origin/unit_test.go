package origin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/backoff"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/profiles"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/ffmpeg"
)

func TestSuperviseRestartsUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls := 0
	b := backoff.New(2*time.Millisecond, rand.New(rand.NewPCG(1, 2)))
	done := make(chan struct{})
	go func() {
		defer close(done)
		supervise(ctx, slog.New(slog.DiscardHandler), "test", b, func(context.Context) error {
			calls++
			if calls == 4 {
				cancel()
			}
			return errors.New("crashed")
		})
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("supervise did not return after cancel")
	}
	if calls != 4 {
		t.Errorf("run called %d times, want 4", calls)
	}
}

func TestOverridesApply(t *testing.T) {
	set, err := profiles.Load()
	if err != nil {
		t.Fatal(err)
	}
	abr, _ := set.Origin("4k-abr")
	def, _ := set.Origin("default")
	tests := []struct {
		name    string
		p       profiles.Origin
		o       Overrides
		sizes   string
		fps     int
		seg     int
		wantErr string
	}{
		{"none", def, Overrides{}, "1280x720", 30, 2, ""},
		{"small default", def, Overrides{Width: 320, Height: 180, FPS: 15, SegmentSeconds: 4}, "320x180", 15, 4, ""},
		{"ladder scales", abr, Overrides{Width: 1280, Height: 720}, "1280x720 640x360 426x240 284x160 214x120", 30, 2, ""},
		{"tiny ladder floors at 16", abr, Overrides{Width: 160, Height: 90}, "160x90 80x46 54x30 36x20 26x16", 30, 2, ""},
		{"width without height", def, Overrides{Width: 320}, "", 0, 0, "both width and height"},
		{"list too short", def, Overrides{ListSize: 2}, "", 0, 0, "listSize"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.o.Apply(tc.p)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var sizes []string
			for _, r := range got.Video {
				sizes = append(sizes, fmt.Sprintf("%dx%d", r.Width, r.Height))
			}
			if s := strings.Join(sizes, " "); s != tc.sizes || got.FPS != tc.fps || got.SegmentSeconds != tc.seg {
				t.Errorf("got %s @%d fps, %d s; want %s @%d fps, %d s", s, got.FPS, got.SegmentSeconds, tc.sizes, tc.fps, tc.seg)
			}
			got.Video[0].Width = 2
			if tc.p.Video[0].Width == 2 {
				t.Error("Apply shares the profile's rendition slice")
			}
		})
	}
	if def.Video[0].Width != 1280 {
		t.Error("Apply changed the loaded profile")
	}
}

func TestHealthStatus(t *testing.T) {
	dir := t.TempDir()
	h := newHealth(slog.New(slog.DiscardHandler), dir, []string{"a.m3u8", "b.m3u8"}, 2*time.Second)
	now := time.Now()
	write := func(name string, age time.Duration) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#EXTM3U\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	check := func(step string, code int, body string) {
		t.Helper()
		s := h.status(now)
		if s.Code != code || !strings.HasPrefix(s.Body, body) {
			t.Errorf("%s: status = %d %q, want %d %s…", step, s.Code, s.Body, code, body)
		}
	}
	check("nothing written", http.StatusServiceUnavailable, "STALE: a.m3u8 not written yet")
	write("a.m3u8", time.Second)
	check("one of two", http.StatusServiceUnavailable, "STALE: b.m3u8 not written yet")
	write("b.m3u8", 9*time.Second) // fresh means under 3 × 2 s + 2 s = 8 s
	check("old", http.StatusServiceUnavailable, "STALE: b.m3u8 last written 9s ago")
	write("b.m3u8", 7*time.Second)
	check("fresh", http.StatusOK, "OK")

	// Speed: real time, then half speed, then real time again.
	feed := func(from, to time.Duration, speed float64) {
		for w := from; w <= to; w += time.Second {
			h.observe(now.Add(w), ffmpeg.Progress{OutTime: time.Duration(float64(w) * speed), OutTimeKnown: true})
		}
	}
	feed(0, 10*time.Second, 1)
	check("real time", http.StatusOK, "OK")
	h.restarted()
	h.started = now.Add(-time.Hour) // past the warm-up
	feed(0, 10*time.Second, 0.5)
	check("half speed", http.StatusOK, "SLOW: ffmpeg encodes at 0.50x real time")
	write("a.m3u8", 20*time.Second)
	if s := h.status(now); s.Code != http.StatusServiceUnavailable || !strings.HasSuffix(s.Body, "; ffmpeg encodes at 0.50x real time (below 0.95x)") {
		t.Errorf("stale and slow: %d %q, want 503 naming both", s.Code, s.Body)
	}
	write("a.m3u8", time.Second)
	h.restarted()
	check("after a restart the speed is unknown", http.StatusOK, "OK")
}

func TestOthersCanRead(t *testing.T) {
	base, err := os.MkdirTemp("", "others-can-read-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(base)
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	open := filepath.Join(base, "open")
	closed := filepath.Join(base, "closed")
	inside := filepath.Join(closed, "hls")
	for _, d := range []string{open, inside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(closed, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := othersCanRead(open); err != nil {
		t.Errorf("%s: %v", open, err)
	}
	if err := othersCanRead(inside); err == nil || !strings.Contains(err.Error(), "chmod o+rx "+closed) {
		t.Errorf("%s: err = %v, want one naming %s", inside, err, closed)
	}
}

func TestRemoveHLSFiles(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"stream.m3u8", "stream_00001.ts", "stream.m3u8.tmp", "x.m4s", "keep.txt", "notes.md"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := removeHLSFiles(dir); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if strings.Join(left, ",") != "keep.txt,notes.md" {
		t.Errorf("left %v, want only keep.txt and notes.md", left)
	}
}

func TestOrphanedRunDirs(t *testing.T) {
	base := t.TempDir()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	mk := func(name, owner string, age time.Duration) string {
		d := filepath.Join(base, runDirPattern+name)
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if owner != "" {
			if err := os.WriteFile(filepath.Join(d, ownerFile), []byte(owner), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		old := time.Now().Add(-age)
		if err := os.Chtimes(d, old, old); err != nil {
			t.Fatal(err)
		}
		return d
	}
	live := mk("live", strconv.Itoa(os.Getpid()), time.Hour)
	gone := mk("gone", strconv.Itoa(dead.Process.Pid), 0)
	fresh := mk("fresh", "", 0)
	stale := mk("stale", "", time.Hour)
	other := filepath.Join(base, "unrelated")
	if err := os.Mkdir(other, 0o755); err != nil {
		t.Fatal(err)
	}
	removeOrphanedRunDirs(base, slog.New(slog.DiscardHandler))
	for d, want := range map[string]bool{live: true, gone: false, fresh: true, stale: false, other: true} {
		if _, err := os.Stat(d); (err == nil) != want {
			t.Errorf("%s exists = %v, want %v", filepath.Base(d), err == nil, want)
		}
	}
}

func TestHLSBytes(t *testing.T) {
	set, err := profiles.Load()
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]uint64{
		// (2200k + 128k) / 8 × 2 s × (10 + 3) segments
		"default": (2200 + 128) * 1000 / 8 * 2 * 13,
		// ladder: 16500+5500+2200+1100+550 video plus 5 × 128k audio
		"4k-abr": (16500 + 5500 + 2200 + 1100 + 550 + 5*128) * 1000 / 8 * 2 * 13,
	}
	for name, want := range tests {
		p, _ := set.Origin(name)
		if got := hlsBytes(p); got != want {
			t.Errorf("%s: hlsBytes = %d, want %d", name, got, want)
		}
	}
}

func TestLineLevel(t *testing.T) {
	tests := map[string]slog.Level{
		"2026/11/26 11:00:00 [warn] 12#12: conflicting server name":        slog.LevelWarn,
		"2026/11/26 11:00:00 [emerg] 12#12: bind() to 127.0.0.1:80 failed": slog.LevelError,
		"2026/11/26 11:00:00 [notice] 12#12: signal process started":       slog.LevelInfo,
		"2026/11/26 11:00:00 [debug] 12#12: epoll add event":               slog.LevelDebug,
		"[hls @ 0x5593] [warning] Duplicated segment filename":             slog.LevelWarn,
		"x264 [error]: invalid preset 'bogus'":                             slog.LevelError,
		"[Parsed_testsrc2_0 @ 0x5593] [verbose] size:64x64 rate:5/1":       slog.LevelDebug,
		"[info] Stream mapping:":                                           slog.LevelInfo,
		"a line without a tag":                                             slog.LevelInfo,
	}
	for line, want := range tests {
		if got := lineLevel([]byte(line)); got != want {
			t.Errorf("lineLevel(%q) = %v, want %v", line, got, want)
		}
	}
}

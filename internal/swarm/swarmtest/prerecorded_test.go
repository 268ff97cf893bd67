package swarmtest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWindowPlaylist(t *testing.T) {
	t0 := time.Unix(1000, 0)
	w := window{start: t0, segments: 12, segSeconds: 2, listSize: 3}
	tests := []struct {
		at        time.Duration
		wantFirst string // first segment listed
		wantLast  string
		wantSeq   string
		wantEnd   bool
	}{
		{0, "seg_00000.ts", "seg_00002.ts", "#EXT-X-MEDIA-SEQUENCE:0", false},
		{1999 * time.Millisecond, "seg_00000.ts", "seg_00002.ts", "#EXT-X-MEDIA-SEQUENCE:0", false},
		{2 * time.Second, "seg_00001.ts", "seg_00003.ts", "#EXT-X-MEDIA-SEQUENCE:1", false},
		{17 * time.Second, "seg_00008.ts", "seg_00010.ts", "#EXT-X-MEDIA-SEQUENCE:8", false},
		{18 * time.Second, "seg_00009.ts", "seg_00011.ts", "#EXT-X-MEDIA-SEQUENCE:9", true},
		{time.Hour, "seg_00009.ts", "seg_00011.ts", "#EXT-X-MEDIA-SEQUENCE:9", true},
	}
	for _, tt := range tests {
		p := w.playlist(t0.Add(tt.at))
		var segs []string
		for _, l := range strings.Split(p, "\n") {
			if strings.HasSuffix(l, ".ts") {
				segs = append(segs, l)
			}
		}
		if len(segs) != 3 || segs[0] != tt.wantFirst || segs[2] != tt.wantLast || !strings.Contains(p, tt.wantSeq+"\n") ||
			strings.Contains(p, "#EXT-X-ENDLIST") != tt.wantEnd || strings.Count(p, "#EXTINF:2.000000,") != 3 {
			t.Errorf("at %s: playlist\n%s\nwant %s..%s, %s, end %v", tt.at, p, tt.wantFirst, tt.wantLast, tt.wantSeq, tt.wantEnd)
		}
	}
}

// TestFreshWindow: /fresh/NAME/ serves the stream with a window that starts at NAME's first
// request, and its segments; /stream.m3u8 keeps the server's own window.
func TestFreshWindow(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "seg_00001.ts"), []byte("segment one"), 0o644); err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1000, 0)
	now := t0.Add(30 * time.Second)
	srv := httptest.NewServer(handler(dir, window{start: t0, segments: 100, segSeconds: 2, listSize: 3}, func() time.Time { return now }))
	defer srv.Close()
	get := func(path string) string {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	p := &Prerecorded{PlaylistURL: srv.URL + "/stream.m3u8"}
	if got := p.FreshURL("a b"); got != srv.URL+"/fresh/a%20b/stream.m3u8" {
		t.Errorf("FreshURL = %s", got)
	}
	seq := func(path string) string {
		for _, l := range strings.Split(get(path), "\n") {
			if strings.HasPrefix(l, "#EXT-X-MEDIA-SEQUENCE:") {
				return strings.TrimPrefix(l, "#EXT-X-MEDIA-SEQUENCE:")
			}
		}
		return "none"
	}
	if s := seq("/stream.m3u8"); s != "15" {
		t.Errorf("server window at 30 s: sequence %s, want 15", s)
	}
	if s := seq("/fresh/a/stream.m3u8"); s != "0" {
		t.Errorf("fresh window a at its first request: sequence %s, want 0", s)
	}
	now = now.Add(4 * time.Second)
	if s := seq("/fresh/a/stream.m3u8"); s != "2" {
		t.Errorf("fresh window a 4 s later: sequence %s, want 2", s)
	}
	if s := seq("/fresh/b/stream.m3u8"); s != "0" {
		t.Errorf("fresh window b at its first request: sequence %s, want 0", s)
	}
	if b := get("/fresh/a/seg_00001.ts"); b != "segment one" {
		t.Errorf("fresh window's segment: %q", b)
	}
}

package ffmpeg

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const master = `#EXTM3U
#EXT-X-VERSION:3
#EXT-X-STREAM-INF:BANDWIDTH=2200000,RESOLUTION=1280x720
720p/stream.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=15500000,RESOLUTION=3840x2160
2160p/stream.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=550000,RESOLUTION=640x360
/abs/360p.m3u8
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=100000,URI="iframe.m3u8"
`

const media = `#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:5
#EXTINF:2.000000,
stream5.ts
`

func TestPickVariant(t *testing.T) {
	tests := []struct {
		playlist, variant, want string
	}{
		{master, VariantHighest, "http://o:8080/live/2160p/stream.m3u8"},
		{master, VariantLowest, "http://o:8080/abs/360p.m3u8"},
		{media, VariantHighest, "http://o:8080/live/stream.m3u8"},
	}
	for _, tt := range tests {
		got, err := PickVariant(strings.NewReader(tt.playlist), "http://o:8080/live/stream.m3u8", tt.variant)
		if err != nil || got != tt.want {
			t.Errorf("%s: got %q, %v; want %q", tt.variant, got, err, tt.want)
		}
	}
	if _, err := PickVariant(strings.NewReader("#EXTM3U\n#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=1,URI=\"i.m3u8\"\n"), "http://o/m.m3u8", VariantLowest); err == nil {
		t.Error("a master playlist with only I-frame variants gave no error")
	}
}

func TestResolveVariant(t *testing.T) {
	var gotUA, gotHeader string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotUA, gotHeader = r.UserAgent(), r.Header.Get("X-Token")
		if r.URL.Path != "/stream.m3u8" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(master))
	}))
	defer srv.Close()
	ctx := context.Background()
	u, err := ResolveVariant(ctx, srv.Client(), srv.URL+"/stream.m3u8", VariantLowest, "swarm/1", []string{"X-Token: abc"})
	if err != nil || u != srv.URL+"/abs/360p.m3u8" {
		t.Fatalf("got %q, %v", u, err)
	}
	if gotUA != "swarm/1" || gotHeader != "abc" {
		t.Errorf("request had UA %q, X-Token %q", gotUA, gotHeader)
	}
	if u, err := ResolveVariant(ctx, srv.Client(), "http://unused.invalid/x.m3u8", VariantAll, "", nil); err != nil || u != "http://unused.invalid/x.m3u8" {
		t.Errorf("all: got %q, %v without fetching", u, err)
	}
	if _, err := ResolveVariant(ctx, srv.Client(), srv.URL+"/missing.m3u8", VariantHighest, "", nil); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("missing master: err = %v", err)
	}
}

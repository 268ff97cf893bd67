package origintest_test

import (
	"net/http"
	"testing"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/origin/origintest"
)

func TestStartServesPlaylist(t *testing.T) {
	o := origintest.Start(t, "default", origintest.Small())
	resp, err := http.Get(o.PlaylistURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d, want 200", o.PlaylistURL, resp.StatusCode)
	}
	if got := resp.Header.Get("Content-Type"); got != "application/vnd.apple.mpegurl" {
		t.Errorf("Content-Type = %q", got)
	}
}

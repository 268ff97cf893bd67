package meter

import (
	"testing"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/event"
)

// TestCatalogParsesEachCopyOnce: clients that fetch the same copy of a playlist share one
// parse; a new copy is parsed again; what each client's catalog says is its own.
func TestCatalogParsesEachCopyOnce(t *testing.T) {
	const u = "http://127.0.0.1:1/live/once.m3u8"
	next := "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:2\n#EXTINF:2.0,\nseg2.ts\n#EXTINF:2.0,\nseg3.ts\n"
	first := "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:1\n#EXTINF:2.0,\nseg1.ts\n#EXTINF:2.0,\nseg2.ts\n"
	a, b := newCatalog(), newCatalog()
	shared.mu.Lock()
	before := shared.n
	shared.mu.Unlock()
	for _, c := range []*catalog{a, b} {
		if obj, ended, ok := c.learn(u, []byte(first)); !ok || obj != event.ObjectMedia || ended {
			t.Fatalf("learn = %q %v %v", obj, ended, ok)
		}
	}
	if obj, _, ok := b.learn(u, []byte(next)); !ok || obj != event.ObjectMedia {
		t.Fatalf("learn next = %q %v", obj, ok)
	}
	if _, _, ok := a.learn(u, []byte("not a playlist")); ok {
		t.Error("a body that is not a playlist was learned")
	}
	shared.mu.Lock()
	parsed := shared.n - before
	shared.mu.Unlock()
	if parsed != 3 {
		t.Errorf("%d parses for 3 distinct copies fetched 4 times", parsed)
	}
	seg := func(c *catalog, name string) entry { return c.lookup("http://127.0.0.1:1/live/" + name) }
	if e := seg(a, "seg1.ts"); e.object != event.ObjectSegment || e.media != 2*time.Second {
		t.Errorf("client a: seg1 = %+v", e)
	}
	if e := seg(a, "seg3.ts"); e.media != 0 {
		t.Errorf("client a learned client b's copy: seg3 = %+v", e)
	}
	if e := seg(b, "seg3.ts"); e.object != event.ObjectSegment || e.media != 2*time.Second {
		t.Errorf("client b: seg3 = %+v", e)
	}
	if e := seg(b, "seg1.ts"); e.media != 2*time.Second {
		t.Errorf("client b: seg1 from the copy before = %+v", e)
	}
}

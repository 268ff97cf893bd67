package swarmtest

import (
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

package meter

import (
	"bytes"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/grafov/m3u8"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/event"
)

// entry is what a parsed playlist says about one URL.
type entry struct {
	object string
	media  time.Duration // segments: EXTINF
}

// catalog is what one client's playlists say about the URLs it will ask for: the variant
// playlists of a master, and the segments, init sections and keys of each media playlist
// (only those of the latest copy of each playlist, so it stays as small as the playlists).
type catalog struct {
	mu        sync.Mutex
	playlists map[string]string           // playlist URL → ObjectMaster | ObjectMedia
	entries   map[string]map[string]entry // playlist URL → URL → entry (latest copy)
	previous  map[string]map[string]entry // the copy before it: a segment may be asked for just after it left the window
}

func newCatalog() *catalog {
	return &catalog{playlists: map[string]string{}, entries: map[string]map[string]entry{}, previous: map[string]map[string]entry{}}
}

// lookup says what u is: from a parsed playlist, else from its extension.
func (c *catalog) lookup(u string) entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	if o, ok := c.playlists[u]; ok {
		return entry{object: o}
	}
	for _, copies := range []map[string]map[string]entry{c.entries, c.previous} {
		for _, m := range copies {
			if e, ok := m[u]; ok {
				return e
			}
		}
	}
	return entry{object: byExtension(u)}
}

// byExtension guesses an object from a URL path nobody listed (the first playlist, a redirect).
func byExtension(u string) string {
	p := u
	if pu, err := url.Parse(u); err == nil {
		p = pu.Path
	}
	switch strings.ToLower(path.Ext(p)) {
	case ".m3u8", ".m3u":
		return event.ObjectMedia
	case ".ts", ".m4s", ".mp4", ".m4a", ".m4v", ".aac", ".ac3", ".ec3", ".mp3", ".vtt", ".webvtt", ".cmfv", ".cmfa":
		return event.ObjectSegment
	case ".key":
		return event.ObjectKey
	}
	return event.ObjectOther
}

// isPlaylistType reports whether a Content-Type names an HLS playlist.
func isPlaylistType(ct string) bool {
	ct = strings.ToLower(strings.TrimSpace(strings.Split(ct, ";")[0]))
	return ct == "application/vnd.apple.mpegurl" || ct == "application/x-mpegurl" || ct == "audio/mpegurl" || ct == "audio/x-mpegurl"
}

// learn parses the playlist body fetched from u and records what it lists. It returns the
// playlist's object (master or media) and whether a media playlist has ENDLIST (VOD); ok is
// false when body is not a playlist grafov/m3u8 can read.
func (c *catalog) learn(u string, body []byte) (object string, ended, ok bool) {
	base, err := url.Parse(u)
	if err != nil {
		return "", false, false
	}
	pl, typ, err := m3u8.DecodeFrom(bytes.NewReader(body), false)
	if err != nil {
		return "", false, false
	}
	abs := func(ref string) string {
		r, err := url.Parse(strings.TrimSpace(ref))
		if err != nil {
			return ref
		}
		return base.ResolveReference(r).String()
	}
	m := map[string]entry{}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch typ {
	case m3u8.MASTER:
		master := pl.(*m3u8.MasterPlaylist)
		for _, v := range master.Variants {
			if v == nil {
				continue
			}
			if v.URI != "" {
				c.playlists[abs(v.URI)] = event.ObjectMedia
			}
			for _, a := range v.Alternatives {
				if a != nil && a.URI != "" {
					c.playlists[abs(a.URI)] = event.ObjectMedia
				}
			}
		}
		c.playlists[u] = event.ObjectMaster
		return event.ObjectMaster, false, true
	case m3u8.MEDIA:
		media := pl.(*m3u8.MediaPlaylist)
		if media.Map != nil && media.Map.URI != "" {
			m[abs(media.Map.URI)] = entry{object: event.ObjectInit}
		}
		if media.Key != nil && media.Key.URI != "" && media.Key.Method != "NONE" {
			m[abs(media.Key.URI)] = entry{object: event.ObjectKey}
		}
		for _, s := range media.Segments {
			if s == nil {
				continue
			}
			m[abs(s.URI)] = entry{object: event.ObjectSegment, media: time.Duration(s.Duration * float64(time.Second))}
			if s.Map != nil && s.Map.URI != "" {
				m[abs(s.Map.URI)] = entry{object: event.ObjectInit}
			}
			if s.Key != nil && s.Key.URI != "" && s.Key.Method != "NONE" {
				m[abs(s.Key.URI)] = entry{object: event.ObjectKey}
			}
		}
		c.previous[u] = c.entries[u]
		c.entries[u] = m
		c.playlists[u] = event.ObjectMedia
		return event.ObjectMedia, media.Closed, true
	}
	return "", false, false
}

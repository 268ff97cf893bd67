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
func isPlaylistType(ct []byte) bool {
	mt, _, _ := bytes.Cut(ct, []byte{';'})
	mt = bytes.TrimSpace(mt)
	for _, t := range []string{"application/vnd.apple.mpegurl", "application/x-mpegurl", "audio/mpegurl", "audio/x-mpegurl"} {
		if bytes.EqualFold(mt, []byte(t)) {
			return true
		}
	}
	return false
}

// learn records what the playlist body fetched from u lists. It returns the playlist's object
// (master or media) and whether a media playlist has ENDLIST (VOD); ok is false when body is
// not a playlist grafov/m3u8 can read.
func (c *catalog) learn(u string, body []byte) (object string, ended, ok bool) {
	p := shared.parse(u, body)
	if p == nil {
		return "", false, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if p.master {
		for _, v := range p.variants {
			c.playlists[v] = event.ObjectMedia
		}
		c.playlists[u] = event.ObjectMaster
		return event.ObjectMaster, false, true
	}
	c.previous[u] = c.entries[u]
	c.entries[u] = p.entries
	c.playlists[u] = event.ObjectMedia
	return event.ObjectMedia, p.ended, true
}

// copyOf is what one copy of a playlist lists. It is never changed once made: every client
// that fetched the same bytes from the same URL shares it.
type copyOf struct {
	body     string
	ok       bool // a playlist grafov/m3u8 can read
	master   bool
	variants []string         // master: the variant and alternative playlists (absolute)
	entries  map[string]entry // media: URL (absolute) → entry
	ended    bool             // media: ENDLIST
}

// parses parses each copy of a playlist once for all the swarm's clients: on a live stream
// they all fetch the same few copies of it, and parsing is most of the proxy's work on a
// playlist. It keeps the latest copiesKept copies of each URL.
type parses struct {
	mu     sync.Mutex
	copies map[string][]*copyOf // playlist URL → its latest copies, newest first (nil: not a playlist)
	n      int                  // parses done, for tests
}

const (
	copiesKept = 4
	urlsKept   = 1024 // beyond this many playlist URLs, the cache starts again
)

var shared = &parses{copies: map[string][]*copyOf{}}

// parse returns what body, fetched from u, lists; nil when it is not a playlist grafov/m3u8 can read.
func (ps *parses) parse(u string, body []byte) *copyOf {
	ps.mu.Lock()
	for _, p := range ps.copies[u] {
		if p.body == string(body) {
			ps.mu.Unlock()
			if !p.ok {
				return nil
			}
			return p
		}
	}
	ps.mu.Unlock()
	p := decode(u, body)
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.n++
	if len(ps.copies) >= urlsKept {
		clear(ps.copies)
	}
	cs := append([]*copyOf{p}, ps.copies[u]...)
	ps.copies[u] = cs[:min(len(cs), copiesKept)]
	if !p.ok {
		return nil
	}
	return p
}

// decode parses one copy of a playlist with grafov/m3u8.
func decode(u string, body []byte) *copyOf {
	none := &copyOf{body: string(body)}
	base, err := url.Parse(u)
	if err != nil {
		return none
	}
	pl, typ, err := m3u8.DecodeFrom(bytes.NewReader(body), false)
	if err != nil {
		return none
	}
	abs := func(ref string) string {
		r, err := url.Parse(strings.TrimSpace(ref))
		if err != nil {
			return ref
		}
		return base.ResolveReference(r).String()
	}
	switch typ {
	case m3u8.MASTER:
		p := &copyOf{body: string(body), ok: true, master: true}
		for _, v := range pl.(*m3u8.MasterPlaylist).Variants {
			if v == nil {
				continue
			}
			if v.URI != "" {
				p.variants = append(p.variants, abs(v.URI))
			}
			for _, a := range v.Alternatives {
				if a != nil && a.URI != "" {
					p.variants = append(p.variants, abs(a.URI))
				}
			}
		}
		return p
	case m3u8.MEDIA:
		media := pl.(*m3u8.MediaPlaylist)
		m := map[string]entry{}
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
		return &copyOf{body: string(body), ok: true, entries: m, ended: media.Closed}
	}
	return none
}

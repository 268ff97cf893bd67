package origin

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/ffmpeg"
)

// RealtimeThreshold is the windowed FFmpeg speed below which the origin reports that it cannot
// keep real time (5 % below 1x, so -re's scheduling jitter does not raise false alarms).
const RealtimeThreshold = 0.95

// speedWindow is the wall time over which the encoding speed is measured.
const speedWindow = 10 * time.Second

// speedWarmup is how long after an FFmpeg (re)start the speed is not measured.
const speedWarmup = 5 * time.Second

// health tracks how fresh the playlists are and how fast FFmpeg encodes, and serves /health:
//
//	200 "OK"    every media playlist was rewritten within freshFor and FFmpeg keeps real time
//	200 "SLOW"  playlists are fresh but FFmpeg encodes below real time (the body gives the speed)
//	503 "STALE" a media playlist is missing or older than freshFor (FFmpeg down or far too slow)
type health struct {
	log       *slog.Logger
	dir       string
	playlists []string
	freshFor  time.Duration

	mu      sync.Mutex
	started time.Time
	rate    *Rate
	speed   float64
	known   bool
	slow    bool
}

func newHealth(log *slog.Logger, dir string, playlists []string, segment time.Duration) *health {
	return &health{log: log, dir: dir, playlists: playlists, freshFor: 3*segment + 2*time.Second, rate: NewRate(speedWindow)}
}

// observe records one FFmpeg progress block.
func (h *health) observe(at time.Time, p ffmpeg.Progress) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if at.Sub(h.started) < speedWarmup || !p.OutTimeKnown {
		// x264's lookahead delays the first output: not a sign of slowness. A block without
		// a media time (N/A) says nothing either.
		return
	}
	h.rate.Observe(at, p.OutTime)
	h.speed, h.known = h.rate.Speed()
	if !h.known {
		return
	}
	switch slow := h.speed < RealtimeThreshold; {
	case slow && !h.slow:
		h.log.Warn("ffmpeg encodes below real time: segments arrive late (reported by /health)", "speed", round2(h.speed))
	case !slow && h.slow:
		h.log.Info("ffmpeg keeps real time again", "speed", round2(h.speed))
	}
	h.slow = h.speed < RealtimeThreshold
}

// restarted forgets the speed of a previous FFmpeg run.
func (h *health) restarted() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.rate = NewRate(speedWindow)
	h.started = time.Now()
	h.known, h.slow = false, false
}

// Status is what /health reports.
type Status struct {
	Code int
	Body string
	// Speed is the windowed FFmpeg speed, 0 until known.
	Speed float64
}

func (h *health) status(now time.Time) Status {
	h.mu.Lock()
	speed, known, slow := h.speed, h.known, h.slow
	h.mu.Unlock()
	slowNote := ""
	if known && slow {
		slowNote = fmt.Sprintf("ffmpeg encodes at %.2fx real time (below %.2fx)", speed, RealtimeThreshold)
	}
	for _, name := range h.playlists {
		fi, err := os.Stat(filepath.Join(h.dir, name))
		if err != nil {
			return Status{Code: http.StatusServiceUnavailable, Body: joinNote(fmt.Sprintf("STALE: %s not written yet", name), slowNote), Speed: speed}
		}
		if age := now.Sub(fi.ModTime()); age > h.freshFor {
			return Status{Code: http.StatusServiceUnavailable, Speed: speed,
				Body: joinNote(fmt.Sprintf("STALE: %s last written %s ago (fresh means under %s)", name, age.Round(100*time.Millisecond), h.freshFor), slowNote)}
		}
	}
	if slowNote != "" {
		return Status{Code: http.StatusOK, Speed: speed, Body: "SLOW: " + slowNote + "; playlists are fresh but segments arrive late"}
	}
	return Status{Code: http.StatusOK, Body: "OK", Speed: speed}
}

func (h *health) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	s := h.status(time.Now())
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if s.Speed > 0 {
		w.Header().Set("X-FFmpeg-Speed", strconv.FormatFloat(round2(s.Speed), 'f', 2, 64))
	}
	w.WriteHeader(s.Code)
	fmt.Fprintln(w, s.Body)
}

func joinNote(body, note string) string {
	if note == "" {
		return body
	}
	return body + "; " + note
}

func round2(f float64) float64 { return float64(int(f*100+0.5)) / 100 }

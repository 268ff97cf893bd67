// Package swarmtest provides a realistic, cheap-to-serve live HLS stream for swarm benchmarks:
// a stream encoded once before the measurement (no encoder on the machine while the swarm is
// measured) and served as a live sliding window by a separate process (so the origin's CPU is
// not counted as the swarm's).
//
// A test package uses it in two parts: a helper test that serves the stream when started as the
// server process,
//
//	func TestHelperPrerecorded(t *testing.T) { swarmtest.ServeIfHelper(t) }
//
// and, in the benchmark, swarmtest.StartPrerecorded(b, "TestHelperPrerecorded", swarmtest.Default720p()).
package swarmtest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/proc"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

// Environment of the server process.
const (
	envDir      = "SWARMTEST_PRERECORDED_DIR"
	envAddr     = "SWARMTEST_PRERECORDED_ADDR"
	envSegments = "SWARMTEST_PRERECORDED_SEGMENTS"
	envSegSecs  = "SWARMTEST_PRERECORDED_SEGMENT_SECONDS"
	envListSize = "SWARMTEST_PRERECORDED_LIST_SIZE"
)

// Stream describes the prerecorded stream.
type Stream struct {
	Width, Height, FPS int
	VideoBitrateK      int // constant bit rate (padded), so a test pattern carries real bytes
	AudioBitrateK      int
	SegmentSeconds     int
	ListSize           int           // segments in the live playlist
	Length             time.Duration // encoded length; the live window ends (ENDLIST) after it
}

// Default720p is the default origin profile's shape: 1280x720 at 30 fps, 2 Mb/s of video,
// 128 kb/s of audio, 2 s segments, 10 in the playlist; 4 minutes long.
func Default720p() Stream {
	return Stream{Width: 1280, Height: 720, FPS: 30, VideoBitrateK: 2000, AudioBitrateK: 128,
		SegmentSeconds: 2, ListSize: 10, Length: 4 * time.Minute}
}

// String names the stream for benchmark output.
func (s Stream) String() string {
	return fmt.Sprintf("prerecorded %dx%d %d fps, %d kb/s video (CBR) + %d kb/s audio, %d s segments, live window of %d, served by a separate process",
		s.Width, s.Height, s.FPS, s.VideoBitrateK, s.AudioBitrateK, s.SegmentSeconds, s.ListSize)
}

func (s Stream) segments() int {
	return int(s.Length / (time.Duration(s.SegmentSeconds) * time.Second))
}

// Prerecorded is a running stream.
type Prerecorded struct {
	Stream      Stream
	PlaylistURL string
	// BytesPerSecond is the encoded stream's measured rate (all segments' sizes over their length).
	BytesPerSecond float64
}

// FreshURL is the playlist URL of the same stream with a live window of its own, which starts
// at the first request for it: each run of a long test gets the whole stream. Each name is a
// window.
func (p *Prerecorded) FreshURL(name string) string {
	return strings.TrimSuffix(p.PlaylistURL, "/stream.m3u8") + "/fresh/" + url.PathEscape(name) + "/stream.m3u8"
}

// StartPrerecorded encodes s (FFmpeg, before any measurement), then starts this test binary
// again running only helperTest (which must call ServeIfHelper) as the live server on a free
// loopback port, and waits until it serves the playlist. Everything stops when the test ends.
// Skipped under -short.
func StartPrerecorded(t testing.TB, helperTest string, s Stream) *Prerecorded {
	t.Helper()
	if testing.Short() {
		t.Skip("encodes and serves a 720p stream; skipped under -short")
	}
	ffmpeg := testenv.RequireBinary(t, "ffmpeg")
	dir := t.TempDir()
	n := s.segments()
	gop := strconv.Itoa(s.FPS * s.SegmentSeconds)
	rate := strconv.Itoa(s.VideoBitrateK) + "k"
	args := []string{"-nostdin", "-hide_banner", "-loglevel", "error",
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=%d", s.Width, s.Height, s.FPS),
		"-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000",
		"-t", strconv.Itoa(n * s.SegmentSeconds),
		"-c:v", "libx264", "-preset", "ultrafast", "-g", gop, "-keyint_min", gop, "-sc_threshold", "0",
		"-b:v", rate, "-minrate", rate, "-maxrate", rate, "-bufsize", rate, "-x264-params", "nal-hrd=cbr",
		"-c:a", "aac", "-b:a", strconv.Itoa(s.AudioBitrateK) + "k",
		"-f", "hls", "-hls_time", strconv.Itoa(s.SegmentSeconds), "-hls_list_size", "0",
		"-hls_segment_filename", filepath.Join(dir, "seg_%05d.ts"), filepath.Join(dir, "vod.m3u8")}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, ffmpeg, args...).CombinedOutput(); err != nil {
		t.Fatalf("swarmtest: encode %s: %v\n%s", s, err, out)
	}
	var total int64
	for i := 0; i < n; i++ {
		fi, err := os.Stat(filepath.Join(dir, segmentName(i)))
		if err != nil {
			t.Fatalf("swarmtest: encoded stream: %v", err)
		}
		total += fi.Size()
	}

	addr := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	srv := exec.Command(os.Args[0], "-test.run=^"+helperTest+"$")
	srv.Env = append(os.Environ(), envDir+"="+dir, envAddr+"="+addr, envSegments+"="+strconv.Itoa(n),
		envSegSecs+"="+strconv.Itoa(s.SegmentSeconds), envListSize+"="+strconv.Itoa(s.ListSize))
	srv.Stderr = os.Stderr
	if err := proc.Start(srv, syscall.SIGKILL); err != nil { // dies with the test process
		t.Fatalf("swarmtest: start the server process: %v", err)
	}
	t.Cleanup(func() { _ = srv.Process.Kill(); _ = srv.Wait() })
	p := &Prerecorded{Stream: s, PlaylistURL: "http://" + addr + "/stream.m3u8",
		BytesPerSecond: float64(total) / float64(n*s.SegmentSeconds)}
	testenv.WaitFor(t, 30*time.Second, "the prerecorded stream's playlist", func() bool {
		resp, err := http.Get(p.PlaylistURL)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return err == nil && strings.Count(string(b), "#EXTINF:") == s.ListSize
	})
	return p
}

func segmentName(i int) string { return fmt.Sprintf("seg_%05d.ts", i) }

// ServeIfHelper serves the stream when this process was started by StartPrerecorded, until it
// is killed; otherwise it skips t.
func ServeIfHelper(t *testing.T) {
	dir, addr := os.Getenv(envDir), os.Getenv(envAddr)
	if dir == "" {
		t.Skip("server process of swarmtest.StartPrerecorded")
	}
	atoi := func(k string) int {
		v, err := strconv.Atoi(os.Getenv(k))
		if err != nil || v <= 0 {
			t.Fatalf("swarmtest: %s=%q", k, os.Getenv(k))
		}
		return v
	}
	w := window{start: time.Now(), segments: atoi(envSegments), segSeconds: atoi(envSegSecs), listSize: atoi(envListSize)}
	t.Fatal(http.ListenAndServe(addr, handler(dir, w, time.Now)))
}

// handler serves the live window w over the segments in dir at /stream.m3u8, and at
// /fresh/NAME/stream.m3u8 the same stream with a window of its own that starts at its first
// request.
func handler(dir string, w window, now func() time.Time) http.Handler {
	mux := http.NewServeMux()
	playlist := func(rw http.ResponseWriter, w window) {
		rw.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
		rw.Header().Set("Cache-Control", "no-cache")
		_, _ = io.WriteString(rw, w.playlist(now()))
	}
	mux.HandleFunc("GET /stream.m3u8", func(rw http.ResponseWriter, _ *http.Request) { playlist(rw, w) })
	var mu sync.Mutex
	fresh := map[string]window{}
	mux.HandleFunc("GET /fresh/{name}/stream.m3u8", func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		fw, ok := fresh[r.PathValue("name")]
		if !ok {
			fw = w
			fw.start = now()
			fresh[r.PathValue("name")] = fw
		}
		mu.Unlock()
		playlist(rw, fw)
	})
	mux.HandleFunc("GET /fresh/{name}/{file}", func(rw http.ResponseWriter, r *http.Request) {
		http.ServeFile(rw, r, filepath.Join(dir, filepath.Base(r.PathValue("file"))))
	})
	mux.Handle("GET /", http.FileServer(http.Dir(dir)))
	return mux
}

// window is the live sliding window over the prerecorded segments: at start the playlist lists
// the first listSize segments, and every segment duration the oldest leaves and the next one
// appears, as a live encoder's playlist would. After the last segment it ends (ENDLIST).
type window struct {
	start                          time.Time
	segments, segSeconds, listSize int
}

func (w window) playlist(now time.Time) string {
	newest := w.listSize - 1 + int(now.Sub(w.start)/(time.Duration(w.segSeconds)*time.Second))
	end := false
	if newest >= w.segments-1 {
		newest, end = w.segments-1, true
	}
	first := max(newest-w.listSize+1, 0)
	var b strings.Builder
	fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:%d\n#EXT-X-MEDIA-SEQUENCE:%d\n", w.segSeconds, first)
	for i := first; i <= newest; i++ {
		fmt.Fprintf(&b, "#EXTINF:%d.000000,\n%s\n", w.segSeconds, segmentName(i))
	}
	if end {
		b.WriteString("#EXT-X-ENDLIST\n")
	}
	return b.String()
}

package ffmpeg

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

// TestCaptureSamples records what a real FFmpeg client writes, for testdata/<version>/ (see
// testdata/README.md). It runs only when HLS_SWARM_CAPTURE names an output directory; the client
// is HLS_SWARM_FFMPEG (default ffmpeg on PATH, e.g. the trixie FFmpeg of scripts/ffmpeg-root.sh),
// the live origin is encoded by the ffmpeg on PATH. Every scenario runs at once for 18 s.
//
//	HLS_SWARM_CAPTURE=internal/swarm/ffmpeg/testdata/7.1 HLS_SWARM_FFMPEG=$(scripts/ffmpeg-root.sh) \
//	  go test -run TestCaptureSamples -v ./internal/swarm/ffmpeg
func TestCaptureSamples(t *testing.T) {
	out := os.Getenv("HLS_SWARM_CAPTURE")
	if out == "" {
		t.Skip("set HLS_SWARM_CAPTURE=DIR to capture FFmpeg client samples into DIR")
	}
	out, err := filepath.Abs(out)
	if err != nil {
		t.Fatal(err)
	}
	client := os.Getenv("HLS_SWARM_FFMPEG")
	if client == "" {
		client = testenv.RequireBinary(t, "ffmpeg")
	}
	encoder := testenv.RequireBinary(t, "ffmpeg")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, args := range map[string][]string{
		"version.txt":            {"-version"},
		"help-demuxer-hls.txt":   {"-hide_banner", "-h", "demuxer=hls"},
		"help-protocol-http.txt": {"-hide_banner", "-h", "protocol=http"},
		"protocols.txt":          {"-hide_banner", "-protocols"},
	} {
		b, err := exec.Command(client, args...).Output()
		if err != nil || len(b) == 0 {
			t.Fatalf("%s %v: %v", client, args, err)
		}
		writeFile(t, filepath.Join(out, name), b)
	}

	live := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	enc := exec.CommandContext(ctx, encoder, "-nostdin", "-hide_banner", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000",
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-c:a", "aac", "-b:a", "64k",
		"-f", "hls", "-hls_time", "1", "-hls_list_size", "6", "-hls_flags", "delete_segments+omit_endlist+temp_file",
		filepath.Join(live, "live.m3u8"))
	enc.Stderr = os.Stderr
	if err := enc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = enc.Wait() })
	testenv.WaitFor(t, 30*time.Second, "the live playlist with 3 segments", func() bool {
		b, _ := os.ReadFile(filepath.Join(live, "live.m3u8"))
		return strings.Count(string(b), ".ts") >= 3
	})

	files := http.FileServer(http.Dir(live))
	segNum := regexp.MustCompile(`live(\d+)\.ts$`)
	everyFourth := func(status int) http.Handler {
		var n atomic.Int64
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, ".ts") && n.Add(1)%4 == 0 {
				http.Error(w, http.StatusText(status), status)
				return
			}
			files.ServeHTTP(w, r)
		})
	}
	scenarios := []struct {
		name      string
		handler   func() http.Handler
		debug     bool
		refused   bool
		downAfter time.Duration // then the server closes its listener and every connection
		progress  bool          // also keep the -progress output
	}{
		{name: "live", handler: func() http.Handler { return files }, progress: true},
		{name: "live-debug", handler: func() http.Handler { return files }, debug: true},
		{name: "segment-404-retried", handler: func() http.Handler { return everyFourth(http.StatusNotFound) }},
		{name: "segment-500", handler: func() http.Handler { return everyFourth(http.StatusInternalServerError) }},
		{name: "segment-404", handler: func() http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if m := segNum.FindStringSubmatch(r.URL.Path); m != nil {
					if n, _ := strconv.Atoi(m[1]); n%5 == 3 {
						http.NotFound(w, r)
						return
					}
				}
				files.ServeHTTP(w, r)
			})
		}},
		{name: "truncated-segment", handler: func() http.Handler {
			var n atomic.Int64
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if !strings.HasSuffix(r.URL.Path, ".ts") || n.Add(1)%4 != 0 {
					files.ServeHTTP(w, r)
					return
				}
				b, err := os.ReadFile(filepath.Join(live, filepath.Base(r.URL.Path)))
				if err != nil || len(b) < 20000 {
					http.NotFound(w, r)
					return
				}
				w.Header().Set("Content-Length", "100000")
				w.Header().Set("Content-Type", "video/mp2t")
				_, _ = w.Write(b[:20000])
				if c, _, err := http.NewResponseController(w).Hijack(); err == nil {
					c.Close()
				}
			})
		}},
		{name: "origin-down", handler: func() http.Handler { return files }, downAfter: 4 * time.Second, progress: true},
		{name: "origin-stalled", handler: func() http.Handler {
			stallFrom := time.Now().Add(4 * time.Second)
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if time.Now().After(stallFrom) {
					select {
					case <-time.After(8 * time.Second):
					case <-r.Context().Done():
						return
					}
				}
				files.ServeHTTP(w, r)
			})
		}},
		{name: "origin-refused", refused: true},
	}
	var wg sync.WaitGroup
	for _, sc := range scenarios {
		url := "http://127.0.0.1:9/stream.m3u8" // nothing listens on the discard port
		if !sc.refused {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			srv := &http.Server{Handler: sc.handler()}
			go func() { _ = srv.Serve(l) }()
			t.Cleanup(func() { _ = srv.Close() })
			if sc.downAfter > 0 {
				time.AfterFunc(sc.downAfter, func() { _ = srv.Close() })
			}
			url = "http://" + l.Addr().String() + "/live.m3u8"
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := captureClient(client, url, filepath.Join(out, sc.name), sc.debug, sc.progress); err != nil {
				t.Errorf("%s: %v", sc.name, err)
			}
		}()
	}
	wg.Wait()
}

// captureClient runs one client for 18 s (then SIGINT, a second SIGINT 3 s later, SIGKILL after
// 10 s) and writes its stderr to base.stderr.log and, with keepProgress, its -progress output to
// base.progress.txt.
func captureClient(ffmpeg, url, base string, debug, keepProgress bool) error {
	level, sink := "level+verbose", []string{"-f", "mpegts", "-y", "/dev/null"}
	if debug {
		level, sink = "level+debug", []string{"-f", "null", "-"}
	}
	args := append([]string{"-nostdin", "-hide_banner", "-nostats", "-loglevel", level, "-progress", "pipe:3",
		"-user_agent", "capture", "-rw_timeout", "2000000", "-reconnect", "1", "-reconnect_streamed", "1",
		"-reconnect_on_network_error", "1", "-reconnect_delay_max", "2", "-i", url,
		"-map", "0:v?", "-map", "0:a?", "-c", "copy"}, sink...)
	stderr, err := os.Create(base + ".stderr.log.tmp")
	if err != nil {
		return err
	}
	defer stderr.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	cmd := exec.Command(ffmpeg, args...)
	cmd.Stderr = stderr
	cmd.ExtraFiles = []*os.File{pw}
	if err := cmd.Start(); err != nil {
		pw.Close()
		pr.Close()
		return err
	}
	pw.Close()
	progress := make(chan []byte, 1)
	go func() { b, _ := io.ReadAll(pr); pr.Close(); progress <- b }()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var waitErr error
	select {
	case waitErr = <-done:
	case <-time.After(18 * time.Second):
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case waitErr = <-done:
		case <-time.After(3 * time.Second):
			_ = cmd.Process.Signal(syscall.SIGINT)
			select {
			case waitErr = <-done:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				waitErr = <-done
			}
		}
	}
	p := <-progress
	if fi, err := stderr.Stat(); err != nil || fi.Size() == 0 {
		return fmt.Errorf("no stderr (exit: %v)", waitErr)
	}
	if err := os.Rename(base+".stderr.log.tmp", base+".stderr.log"); err != nil {
		return err
	}
	if keepProgress {
		return os.WriteFile(base+".progress.txt", p, 0o644)
	}
	return nil
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path+".tmp", b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}

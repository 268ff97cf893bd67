package orchestrator_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/proc"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

// liveStream is a real live HLS stream on 127.0.0.1: FFmpeg encodes a 320x180 test pattern
// and a tone to HLS segments in a temporary directory, net/http serves the directory (with
// keep-alive, like nginx).
type liveStream struct {
	Dir         string
	PlaylistURL string
}

// startLiveStream starts the encoder and the file server and waits for 3 segments; both stop
// when the test ends. Skipped under -short. With serverProcess the file server runs in a child
// process (this test binary, TestHelperFileServer), so that a benchmark measuring this
// process's CPU does not count the origin's.
func startLiveStream(t testing.TB, serverProcess bool) *liveStream {
	return startLiveStreamWith(t, serverProcess, streamOptions{SegmentSeconds: 1, VideoBitrateK: 300})
}

// streamOptions shape the test stream. With CBR the encoder pads the video to exactly
// VideoBitrateK, so a small picture still carries a realistic number of bytes per second.
type streamOptions struct {
	SegmentSeconds int
	VideoBitrateK  int
	CBR            bool
	// TwoVariants makes stream.m3u8 a master playlist of stream_0.m3u8 (VideoBitrateK) and
	// stream_1.m3u8 (3 × VideoBitrateK), segments stream_<variant>_<n>.ts.
	TwoVariants bool
}

func startLiveStreamWith(t testing.TB, serverProcess bool, o streamOptions) *liveStream {
	t.Helper()
	if testing.Short() {
		t.Skip("runs a live FFmpeg encoder; skipped under -short")
	}
	ffmpeg := testenv.RequireBinary(t, "ffmpeg")
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	rate := strconv.Itoa(o.VideoBitrateK) + "k"
	gop := strconv.Itoa(15 * o.SegmentSeconds)
	args := []string{"-nostdin", "-hide_banner", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=320x180:rate=15", "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000"}
	if o.TwoVariants {
		args = append(args, "-map", "0:v", "-map", "0:v", "-map", "1:a", "-map", "1:a",
			"-b:v:1", strconv.Itoa(3*o.VideoBitrateK)+"k")
	}
	args = append(args, "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", gop, "-keyint_min", gop,
		"-sc_threshold", "0", "-b:v:0", rate)
	if o.CBR {
		args = append(args, "-minrate", rate, "-maxrate", rate, "-bufsize", rate, "-x264-params", "nal-hrd=cbr")
	}
	args = append(args, "-c:a", "aac", "-b:a", "64k",
		"-f", "hls", "-hls_time", strconv.Itoa(o.SegmentSeconds), "-hls_list_size", "6",
		"-hls_flags", "delete_segments+omit_endlist+temp_file")
	if o.TwoVariants {
		args = append(args, "-var_stream_map", "v:0,a:0 v:1,a:1", "-master_pl_name", "stream.m3u8",
			"-hls_segment_filename", filepath.Join(dir, "stream_%v_%05d.ts"), filepath.Join(dir, "stream_%v.m3u8"))
	} else {
		args = append(args, "-hls_segment_filename", filepath.Join(dir, "stream_%05d.ts"), filepath.Join(dir, "stream.m3u8"))
	}
	cmd := exec.CommandContext(ctx, ffmpeg, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start the encoder: %v", err)
	}
	waited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(waited) }()

	var addr string
	var stopServer func()
	if serverProcess {
		addr = "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
		srv := exec.Command(os.Args[0], "-test.run=^TestHelperFileServer$")
		srv.Env = append(os.Environ(), "SWARM_HELPER_SERVE_DIR="+dir, "SWARM_HELPER_SERVE_ADDR="+addr)
		srv.Stderr = os.Stderr
		if err := proc.Start(srv, syscall.SIGKILL); err != nil { // dies with the test process
			t.Fatal(err)
		}
		stopServer = func() { _ = srv.Process.Kill(); _ = srv.Wait() }
	} else {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = l.Addr().String()
		srv := &http.Server{Handler: http.FileServer(http.Dir(dir))}
		go func() { _ = srv.Serve(l) }()
		stopServer = func() { _ = srv.Close() }
	}
	t.Cleanup(func() {
		stopServer()
		cancel()
		select {
		case <-waited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-waited
		}
	})
	s := &liveStream{Dir: dir, PlaylistURL: "http://" + addr + "/stream.m3u8"}
	media := []string{s.PlaylistURL}
	if o.TwoVariants {
		base := strings.TrimSuffix(s.PlaylistURL, "stream.m3u8")
		media = []string{base + "stream_0.m3u8", base + "stream_1.m3u8"}
	}
	for _, u := range media {
		testenv.WaitFor(t, time.Duration(60+3*o.SegmentSeconds)*time.Second, "3 segments in "+u, func() bool {
			resp, err := http.Get(u)
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			return err == nil && strings.Count(string(b), "#EXTINF:") >= 3
		})
	}
	return s
}

// TestHelperFileServer is the file server process of startLiveStream(t, true); it does nothing
// unless started by it, and runs until killed.
func TestHelperFileServer(t *testing.T) {
	dir, addr := os.Getenv("SWARM_HELPER_SERVE_DIR"), os.Getenv("SWARM_HELPER_SERVE_ADDR")
	if dir == "" {
		t.Skip("helper process for startLiveStream")
	}
	t.Fatal(http.ListenAndServe(addr, http.FileServer(http.Dir(dir))))
}

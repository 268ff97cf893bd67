package preflight

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

func TestURL(t *testing.T) {
	tests := []struct {
		url, errLike string
	}{
		{"http://127.0.0.1:8080/stream.m3u8", ""},
		{"https://cdn.example.com/live/master.m3u8?token=1", ""},
		{"", "no stream URL"},
		{"ftp://h/x.m3u8", "scheme must be http or https"},
		{"127.0.0.1:8080/stream.m3u8", "is not a URL"},
		{"http:///stream.m3u8", "has no host"},
		{"http://[::1/x", "is not a URL"},
		{"stream.m3u8", "scheme must be"},
	}
	for _, tt := range tests {
		err := URL(tt.url)
		if tt.errLike == "" {
			if err != nil {
				t.Errorf("%q: %v", tt.url, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.errLike) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: err = %v, want one line with %q", tt.url, err, tt.errLike)
		}
	}
}

func TestFFmpeg(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "ffmpeg")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ path, errLike string }{
		{"/nonexistent/ffmpeg", "not found"},
		{notExec, "not found"}, // LookPath rejects a non-executable file
		{dir, "not found"},
	}
	for _, tt := range tests {
		if err := FFmpeg(tt.path); err == nil || !strings.Contains(err.Error(), tt.errLike) || !strings.Contains(err.Error(), "--ffmpeg") {
			t.Errorf("%s: err = %v", tt.path, err)
		}
	}
	if err := FFmpeg(testenv.RequireBinary(t, "ffmpeg")); err != nil {
		t.Error(err)
	}
}

func TestEphemeralPorts(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "range")
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if err := EphemeralPorts(100, write("32768\t60999\n")); err != nil {
		t.Errorf("28232 ports for 100 clients: %v", err)
	}
	err := EphemeralPorts(500, write("60000 60999\n"))
	if err == nil || !strings.Contains(err.Error(), "1000 ports but 500 clients need 2000") {
		t.Errorf("small range: %v", err)
	}
	if err := EphemeralPorts(1, write("garbage")); err == nil {
		t.Error("garbage range accepted")
	}
	if err := EphemeralPorts(1, filepath.Join(dir, "absent")); err != nil {
		t.Errorf("no procfs file: %v", err)
	}
	if err := EphemeralPorts(10, ""); err != nil {
		t.Errorf("this machine, 10 clients: %v", err)
	}
}

func TestOpenFilesRaisesSoftLimit(t *testing.T) {
	var before syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &before); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &before) })
	lowered := before
	lowered.Cur = min(before.Max, 256)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lowered); err != nil {
		t.Fatal(err)
	}
	fits := int((before.Max - FilesBase) / FilesPerClient)
	if fits < 20 {
		t.Skipf("hard limit %d too low for this test", before.Max)
	}
	if err := OpenFiles(20); err != nil {
		t.Fatalf("20 clients with hard limit %d: %v", before.Max, err)
	}
	var after syscall.Rlimit
	_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &after)
	if after.Cur != before.Max {
		t.Errorf("soft limit %d, want raised to the hard limit %d", after.Cur, before.Max)
	}
	if before.Max < 1<<40 {
		err := OpenFiles(fits + 1)
		if err == nil || !strings.Contains(err.Error(), "ulimit -n") {
			t.Errorf("beyond the hard limit: %v", err)
		}
	}
}

func TestProcesses(t *testing.T) {
	if err := Processes(10); err != nil {
		t.Error(err)
	}
}

func TestRunJoinsOneLinePerProblem(t *testing.T) {
	err := Run(Checks{Clients: 1, FFmpegPath: "/nonexistent/ffmpeg", URL: "ftp://x"})
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines (URL, ffmpeg), got %q", lines)
	}
}

func TestPlaylist(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/stream.m3u8":
			_, _ = w.Write([]byte("#EXTM3U\n#EXT-X-VERSION:3\n"))
		case "/index.html":
			_, _ = w.Write([]byte("<html>"))
		case "/slow.m3u8":
			time.Sleep(2 * time.Second)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	if err := Playlist(ctx, srv.Client(), srv.URL+"/stream.m3u8", "ua", []string{"X-A: b"}, time.Second); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ url, errLike string }{
		{srv.URL + "/missing.m3u8", "answers HTTP 404"},
		{srv.URL + "/index.html", "not an HLS playlist"},
		{srv.URL + "/slow.m3u8", "unreachable"},
		{"http://127.0.0.1:" + strconv.Itoa(testenv.FreePort(t)) + "/stream.m3u8", "unreachable"},
	}
	for _, tt := range tests {
		err := Playlist(ctx, srv.Client(), tt.url, "", nil, 500*time.Millisecond)
		if err == nil || !strings.Contains(err.Error(), tt.errLike) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: err = %v, want one line with %q", tt.url, err, tt.errLike)
		}
	}
}

// TestPlaylistUntrustedCertificate: an https origin whose certificate does not verify is one
// line that names --ca-file and --insecure; trusted, the same origin passes.
func TestPlaylistUntrustedCertificate(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("#EXTM3U\n"))
	}))
	defer srv.Close()
	err := Playlist(context.Background(), &http.Client{}, srv.URL+"/stream.m3u8", "", nil, 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "not trusted") || !strings.Contains(err.Error(), "--ca-file") ||
		!strings.Contains(err.Error(), "--insecure") || strings.Contains(err.Error(), "\n") {
		t.Errorf("untrusted origin: %v", err)
	}
	if err := Playlist(context.Background(), srv.Client(), srv.URL+"/stream.m3u8", "", nil, 5*time.Second); err != nil {
		t.Errorf("trusted origin: %v", err)
	}
}

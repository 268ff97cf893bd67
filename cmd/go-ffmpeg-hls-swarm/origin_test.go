package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/profiles"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

// originBuildBinary builds this command into a fresh world-readable directory (so the
// binary can also run as nobody) and returns its path.
func originBuildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(testenv.SharedTempDir(t, "origin-cli-test-"), "go-ffmpeg-hls-swarm")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func originRun(t *testing.T, bin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run %v: %v", args, err)
	}
	return o.String(), e.String(), code
}

func TestOriginErrorsAreOneLine(t *testing.T) {
	bin := originBuildBinary(t)
	testenv.RequireBinary(t, "ffmpeg")
	nginx := testenv.RequireBinary(t, "nginx")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := strconv.Itoa(busy.Addr().(*net.TCPAddr).Port)
	free := strconv.Itoa(testenv.FreePort(t))
	tests := []struct {
		name string
		args []string
		want string
		code int // 2: the flags are wrong; 3: this machine is not ready (as the swarm's preflight)
	}{
		{"port in use", []string{"origin", "--nginx", nginx, "--port", busyPort}, "port " + busyPort + " on 127.0.0.1 is in use", 3},
		{"missing ffmpeg", []string{"origin", "--nginx", nginx, "--port", free, "--ffmpeg", "/nonexistent/ffmpeg"}, "ffmpeg not found (/nonexistent/ffmpeg)", 3},
		{"missing nginx", []string{"origin", "--port", free, "--nginx", "/nonexistent/nginx"}, "nginx not found (/nonexistent/nginx)", 3},
		{"nginx not on PATH", []string{"origin", "--port", free, "--nginx", "no-such-nginx"}, "nginx not found (no-such-nginx)", 3},
		{"unknown profile", []string{"origin", "--profile", "nope", "--port", free}, `unknown origin profile "nope": valid profiles are default, low-latency, 4k-abr`, 2},
		{"render unknown profile", []string{"origin", "render", "--profile", "nope"}, `unknown origin profile "nope"`, 2},
		{"render bad format", []string{"origin", "render", "--format", "yaml"}, `--format "yaml" is not text or json`, 2},
		{"bad size", []string{"origin", "--size", "big", "--port", free}, `--size "big" is not WIDTHxHEIGHT`, 2},
		{"unknown single-dash word", []string{"origin", "-bogus"}, "unknown flag -bogus", 2},
		{"negative fps", []string{"origin", "--fps", "-5", "--port", free}, "fps -5 is outside 1..120", 2},
		{"render negative fps", []string{"origin", "render", "--fps", "-5"}, "fps -5 is outside 1..120", 2},
		{"render negative segment", []string{"origin", "render", "--segment-seconds", "-1"}, "segmentSeconds -1 is below 1", 2},
		{"render missing ffmpeg", []string{"origin", "render", "--ffmpeg", "/nonexistent/ffmpeg"}, "ffmpeg not found (/nonexistent/ffmpeg)", 3},
		{"bad listen", []string{"origin", "--nginx", nginx, "--listen", "localhost", "--port", free}, `listen address "localhost" is not an IP address`, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			stdout, stderr, code := originRun(t, bin, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %q", code, tc.code, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			if lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n"); len(lines) != 1 || !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q, want one line containing %q", stderr, tc.want)
			}
			if time.Since(start) > 20*time.Second {
				t.Errorf("took %s: the check must come before anything starts", time.Since(start))
			}
		})
	}
}

func TestOriginRender(t *testing.T) {
	bin := originBuildBinary(t)
	testenv.RequireBinary(t, "ffmpeg")
	testenv.RequireBinary(t, "nginx")
	stdout, stderr, code := originRun(t, bin, "origin", "render", "--profile", "4k-abr")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"scale=3840:2160[v0]", "scale=1920:1080[v1]", "scale=1280:720[v2]", "scale=854:480[v3]", "scale=640:360[v4]",
		"-b:v:0 15000k", "-b:v:4 500k", "-master_pl_name stream.m3u8",
		"'v:0,a:0,name:2160p v:1,a:1,name:1080p v:2,a:2,name:720p v:3,a:3,name:480p v:4,a:4,name:360p'",
		"daemon off;", "location = /stream.m3u8", "2160p 3840x2160@30 15000k",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("render output lacks %q", want)
		}
	}

	// Scaled down, each rung is named after its real height (stream_360p.m3u8, not stream_2160p.m3u8).
	stdout, stderr, code = originRun(t, bin, "origin", "render", "--profile", "4k-abr", "--size", "640x360")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"scale=640:360[v0]", "scale=320:180[v1]", "'v:0,a:0,name:360p v:1,a:1,name:180p v:2,a:2,name:120p v:3,a:3,name:80p v:4,a:4,name:60p'"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("render --size 640x360 output lacks %q", want)
		}
	}
	if strings.Contains(stdout, "2160p") || strings.Contains(stdout, "1080p") {
		t.Errorf("render --size 640x360 still names a rung after its profiled size:\n%s", stdout)
	}

	stdout, stderr, code = originRun(t, bin, "origin", "render", "--profile", "low-latency", "--format", "json", "--dir", "/srv/hls")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r struct {
		Profile        string            `json:"profile"`
		FFmpeg         []string          `json:"ffmpeg"`
		NginxConf      string            `json:"nginxConf"`
		MediaPlaylists []string          `json:"mediaPlaylists"`
		CacheControl   map[string]string `json:"cacheControl"`
	}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("json: %v\n%s", err, stdout)
	}
	if r.Profile != "low-latency" || r.FFmpeg[len(r.FFmpeg)-1] != "/srv/hls/stream.m3u8" || !slices.Contains(r.FFmpeg, "zerolatency") ||
		!strings.Contains(r.NginxConf, "root /srv/hls;") || r.CacheControl["mediaPlaylist"] != "public, max-age=0, stale-while-revalidate=1, no-transform" {
		t.Errorf("unexpected json render: %+v", r)
	}
}

func TestOriginProfileCompletion(t *testing.T) {
	bin := originBuildBinary(t)
	set, err := profiles.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"__complete", "origin", "--profile", ""}, {"__complete", "origin", "render", "--profile", ""}} {
		stdout, stderr, code := originRun(t, bin, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d %s", args, code, stderr)
		}
		lines := strings.Split(strings.TrimSpace(stdout), "\n")
		if got, want := lines[:len(lines)-1], set.OriginNames(); !slices.Equal(got, want) {
			t.Errorf("%v completes %v, want %v", args, got, want)
		}
		if last := lines[len(lines)-1]; last != ":4" {
			t.Errorf("directive %s, want :4 (no file completion)", last)
		}
	}
}

func TestOriginEnv(t *testing.T) {
	bin := originBuildBinary(t)
	testenv.RequireBinary(t, "ffmpeg")
	testenv.RequireBinary(t, "nginx")
	run := func(env []string, args ...string) (string, string, int) {
		var o, e bytes.Buffer
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), env...)
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return o.String(), e.String(), ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return o.String(), e.String(), 0
	}
	profileOf := func(stdout string) string {
		var r struct {
			Profile   string `json:"profile"`
			NginxConf string `json:"nginxConf"`
		}
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatalf("json: %v\n%s", err, stdout)
		}
		return r.Profile + " " + regexp.MustCompile(`listen (\S+?)[ ;]`).FindStringSubmatch(r.NginxConf)[1]
	}
	env := []string{"ORIGIN_PROFILE=low-latency", "ORIGIN_PORT=9123", "ORIGIN_FORMAT=json"}
	if stdout, stderr, code := run(env, "origin", "render"); code != 0 || profileOf(stdout) != "low-latency 127.0.0.1:9123" {
		t.Errorf("env only: exit %d, %q %s", code, profileOf(stdout), stderr)
	}
	if stdout, stderr, code := run(env, "origin", "render", "--profile", "stress-test"); code != 0 || profileOf(stdout) != "stress-test 127.0.0.1:9123" {
		t.Errorf("flag over env: exit %d, %q %s", code, profileOf(stdout), stderr)
	}
	stdout, stderr, code := run([]string{"ORIGIN_PORT=abc"}, "origin")
	if code == 0 || stdout != "" || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, `ORIGIN_PORT="abc" is not a valid --port (int)`) {
		t.Errorf("bad env: exit %d, stderr %q", code, stderr)
	}
}

var runDirRE = regexp.MustCompile(`run_dir=(\S+)`)

// originProc is a running `origin` child of the test.
type originProc struct {
	cmd         *exec.Cmd
	exited      chan error
	stderr      *testenv.Buffer
	runDir      string
	descendants []testenv.Proc // ffmpeg, nginx master and workers
}

// originStart runs `origin --profile low-latency` small, as cred (nil: this user), and waits
// for /health 200.
func originStart(t *testing.T, bin string, cred *syscall.Credential) *originProc {
	t.Helper()
	port := testenv.FreePort(t)
	p := &originProc{exited: make(chan error, 1), stderr: &testenv.Buffer{}}
	p.cmd = exec.Command(bin, "origin", "--profile", "low-latency", "--size", "320x180", "--fps", "15", "--port", strconv.Itoa(port))
	p.cmd.Stdout, p.cmd.Stderr = p.stderr, p.stderr
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-p.exited:
			p.exited <- err
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
		}
	})
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/health"
	testenv.WaitFor(t, 60*time.Second, "/health 200", func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	m := runDirRE.FindStringSubmatch(p.stderr.String())
	if m == nil {
		t.Fatalf("no run_dir in the log:\n%s", p.stderr.String())
	}
	p.runDir = m[1]
	kids := testenv.Children(p.cmd.Process.Pid)
	p.descendants = testenv.Descendants(p.cmd.Process.Pid)
	if len(kids) != 2 || len(p.descendants) < 3 {
		t.Fatalf("children %v, descendants %v: want ffmpeg, nginx and its workers", kids, p.descendants)
	}
	return p
}

// assertGone fails for every descendant still alive 5 s after start.
func (p *originProc) assertGone(t *testing.T, start time.Time, after string) {
	t.Helper()
	for _, d := range p.descendants {
		for d.Alive() && time.Since(start) < 5*time.Second {
			time.Sleep(20 * time.Millisecond)
		}
		if d.Alive() {
			t.Errorf("%s (pid %d) still alive 5 s after %s", d.Comm, d.PID, after)
		}
	}
}

// TestOriginSIGTERM runs the origin as root and as nobody, then SIGTERMs it: FFmpeg, nginx
// and its workers must be gone within 5 s and the run directory removed.
func TestOriginSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real FFmpeg and nginx")
	}
	bin := originBuildBinary(t)
	testenv.RequireBinary(t, "ffmpeg")
	testenv.RequireBinary(t, "nginx")
	users := []struct {
		name string
		cred *syscall.Credential
	}{{"current user", nil}}
	if os.Geteuid() == 0 {
		users = append(users, struct {
			name string
			cred *syscall.Credential
		}{"nobody", &syscall.Credential{Uid: 65534, Gid: 65534}})
	}
	for _, u := range users {
		t.Run(u.name, func(t *testing.T) {
			p := originStart(t, bin, u.cred)
			start := time.Now()
			if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-p.exited:
				p.exited <- err
				if err != nil {
					t.Errorf("exit after SIGTERM: %v\n%s", err, p.stderr.String())
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("still running 5 s after SIGTERM:\n%s", p.stderr.String())
			}
			p.assertGone(t, start, "SIGTERM")
			if _, err := os.Stat(p.runDir); !os.IsNotExist(err) {
				t.Errorf("run directory %s still there after exit (%v)", p.runDir, err)
			}
		})
	}
}

// TestOriginSIGKILL kills the origin outright: its children must still go (FFmpeg by SIGKILL,
// nginx's master by SIGTERM, which stops its workers), and the next origin removes the run
// directory the killed one could not.
func TestOriginSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real FFmpeg and nginx")
	}
	bin := originBuildBinary(t)
	testenv.RequireBinary(t, "ffmpeg")
	testenv.RequireBinary(t, "nginx")
	p := originStart(t, bin, nil)
	start := time.Now()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-p.exited
	p.exited <- nil
	p.assertGone(t, start, "SIGKILL")
	if _, err := os.Stat(p.runDir); err != nil {
		t.Fatalf("the killed origin's run directory should still be there: %v", err)
	}
	next := originStart(t, bin, nil)
	if _, err := os.Stat(p.runDir); !os.IsNotExist(err) {
		t.Errorf("the next origin left the orphaned %s (%v)", p.runDir, err)
	}
	if !strings.Contains(next.stderr.String(), "removed the run directory of an origin that was killed") {
		t.Errorf("no log line about the orphaned run directory:\n%s", next.stderr.String())
	}
}

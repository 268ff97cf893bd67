package nginxconf

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/profiles"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

func load(t *testing.T) *profiles.Set {
	t.Helper()
	set, err := profiles.Load()
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func config(t *testing.T, p profiles.Origin, prefix string) Config {
	return Config{Profile: p, Prefix: prefix, Root: filepath.Join(prefix, "hls"), Listen: "127.0.0.1", Port: 8080,
		HealthSocket: filepath.Join(prefix, "health.sock")}
}

func TestMediaCacheControl(t *testing.T) {
	// PROFILES.md: max-age = segment / 2 (whole seconds, rounded down), stale-while-revalidate = segment.
	tests := map[int]string{
		1: "public, max-age=0, stale-while-revalidate=1, no-transform",
		2: "public, max-age=1, stale-while-revalidate=2, no-transform",
		6: "public, max-age=3, stale-while-revalidate=6, no-transform",
	}
	for seg, want := range tests {
		if got := MediaCacheControl(seg); got != want {
			t.Errorf("MediaCacheControl(%d) = %q, want %q", seg, got, want)
		}
	}
}

func TestRenderPerProfile(t *testing.T) {
	set := load(t)
	tests := []struct {
		profile string
		want    []string
		absent  []string
	}{
		{"default", []string{"daemon off;", "master_process on;", "sendfile on;", "tcp_nopush on;", "sendfile_max_chunk 512k;",
			"keepalive_timeout 30s;", "keepalive_requests 10000;", "open_file_cache max=", "access_log off;", "stub_status;",
			"listen 127.0.0.1:8080;", "worker_connections 4096;", `"public, max-age=60, immutable, no-transform"`,
			`"public, max-age=1, stale-while-revalidate=2, no-transform"`, `add_header Cache-Control "no-store"`,
			"return 405;", "open_file_cache_valid 1s;", "error_log stderr warn;", "pid /p/nginx.pid;", "proxy_temp_path /p/temp/proxy;"},
			[]string{"user ", "reuseport", "max-age=5,"}},
		{"low-latency", []string{`"public, max-age=0, stale-while-revalidate=1, no-transform"`, "open_file_cache off;"}, nil},
		{"4k-abr", []string{"location = /stream.m3u8", `"public, max-age=5, no-transform"`}, nil},
		{"stress-test", []string{"worker_connections 65536;", "worker_rlimit_nofile 131072;", "multi_accept on;", "reuseport backlog=4096;", "error_log stderr error;"}, nil},
		{"logged", []string{"access_log /p/logs/access.log origin buffer=512k flush=5s;"}, []string{"gzip=1"}},
		{"debug", []string{"access_log /p/logs/access.log.gz origin gzip=1 buffer=64k flush=1s;", "error_log stderr debug;"}, nil},
		{"tap-logged", []string{"access_log /p/logs/access.log origin buffer=512k flush=5s;"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.profile, func(t *testing.T) {
			p, err := set.Origin(tc.profile)
			if err != nil {
				t.Fatal(err)
			}
			conf, err := Render(config(t, p, "/p"))
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(conf, w) {
					t.Errorf("missing %q", w)
				}
			}
			for _, a := range tc.absent {
				if strings.Contains(conf, a) {
					t.Errorf("has %q", a)
				}
			}
		})
	}
}

func TestRenderOptions(t *testing.T) {
	p, _ := load(t).Origin("default")
	c := config(t, p, "/p")
	c.Listen, c.User, c.LogDir = "::1", "nobody nogroup", "/logs"
	conf, err := Render(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"listen [::1]:8080;", "user nobody nogroup;"} {
		if !strings.Contains(conf, w) {
			t.Errorf("missing %q", w)
		}
	}
	p.Nginx.AccessLog = "buffered"
	c.Profile = p
	if got := c.AccessLogPath(); got != "/logs/access.log" {
		t.Errorf("AccessLogPath = %s", got)
	}
	if _, err := Render(Config{Profile: p}); err == nil {
		t.Error("Render accepted an empty config")
	}
}

// TestNginxAcceptsEveryProfile runs `nginx -t` on every profile's rendered config.
func TestNginxAcceptsEveryProfile(t *testing.T) {
	nginx := testenv.RequireBinary(t, "nginx")
	for _, p := range load(t).Origins {
		t.Run(p.Name, func(t *testing.T) {
			prefix := t.TempDir()
			for _, d := range TempDirs(prefix) {
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			c := config(t, p, prefix)
			if os.Geteuid() == 0 {
				c.User = "nobody nogroup"
			}
			conf, err := Render(c)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(prefix, "nginx.conf")
			if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(nginx, "-t", "-p", prefix+"/", "-c", path, "-e", "stderr").CombinedOutput()
			if err != nil || !strings.Contains(string(out), "test is successful") {
				t.Fatalf("nginx -t: %v\n%s\n%s", err, out, conf)
			}
		})
	}
}

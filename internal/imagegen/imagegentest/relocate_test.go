package imagegentest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/origin/nginxconf"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/profiles"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

func TestStoreName(t *testing.T) {
	for _, tc := range []struct{ base, want string }{
		{"libpcre2-8.so.0.11.2", "libpcre2-8-0.11.2"},
		{"libc.so.6", "libc-6"},
		{"ld-linux-x86-64.so.2", "ld-linux-x86-64-2"},
		{"libpulsecommon-16.1.so", "libpulsecommon-16.1"},
	} {
		if got := storeName(tc.base); got != tc.want {
			t.Errorf("storeName(%q) = %q, want %q", tc.base, got, tc.want)
		}
	}
}

// TestNginxClosure: the relocated nginx is a closure of one path per library whose files
// point only into the store, and it runs chrooted into a copy of that closure alone.
func TestNginxClosure(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the nginx closure with nix-build")
	}
	root := NginxClosure(t)
	nixStore := testenv.RequireBinary(t, "nix-store")
	out, err := exec.Command(nixStore, "-qR", root).Output()
	if err != nil {
		t.Fatalf("nix-store -qR %s: %v", root, err)
	}
	paths := strings.Fields(string(out))
	ldd, err := exec.Command("ldd", "/usr/sbin/nginx").Output()
	if err != nil {
		t.Fatal(err)
	}
	// One path per library ldd lists (linux-vdso has no file) plus nginx itself.
	if want := strings.Count(string(ldd), "\n"); len(paths) != want {
		t.Errorf("closure has %d paths, want %d (ldd lines - vdso + nginx):\n%s", len(paths), want, out)
	}
	for _, f := range []string{"libssl", "libcrypto", "libpcre2-8", "libz", "libc-", "ld-linux"} {
		if !strings.Contains(string(out), f) {
			t.Errorf("closure lacks %s:\n%s", f, out)
		}
	}
	patchelf := testenv.RequireBinary(t, "patchelf")
	bin := filepath.Join(root, "bin", "nginx")
	for _, q := range [][]string{{"--print-interpreter"}, {"--print-rpath"}} {
		b, err := exec.Command(patchelf, append(q, bin)...).Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range strings.Split(strings.TrimSpace(string(b)), ":") {
			if !strings.HasPrefix(p, "/nix/store/") {
				t.Errorf("%s %s names %s, outside the store", q[0], bin, p)
			}
		}
	}

	// chroot into the closure alone, as the images' user nobody (65534): nginx -t accepts the
	// origin's own rendered config (self-contained: its own types, prefix and temp paths).
	chroot := closureChroot(t, paths)
	set, err := profiles.Load()
	if err != nil {
		t.Fatal(err)
	}
	prof, err := set.Origin("default")
	if err != nil {
		t.Fatal(err)
	}
	conf, err := nginxconf.Render(nginxconf.Config{Profile: prof, Prefix: "/run/nginx", Root: "/run/hls",
		Listen: "127.0.0.1", Port: 8080, HealthSocket: "/run/health.sock"})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range append(nginxconf.TempDirs("/run/nginx"), "/run/nginx", "/run/hls") {
		if err := os.MkdirAll(filepath.Join(chroot, d), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(filepath.Join(chroot, d), 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(chroot, "nginx.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := exec.Command("chroot", "--userspec=65534:65534", chroot, bin, "-p", "/run/nginx/", "-c", "/nginx.conf", "-e", "stderr", "-t").CombinedOutput()
	if err != nil || !strings.Contains(string(b), "test is successful") {
		t.Fatalf("chroot %s nginx -t: %v\n%s", chroot, err, b)
	}
}

// closureChroot copies the store paths into a new directory, at the same paths: a root that
// holds nothing but the closure.
func closureChroot(t *testing.T, paths []string) string {
	t.Helper()
	chroot := t.TempDir()
	for _, p := range paths {
		dst := filepath.Join(chroot, p)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if b, err := exec.Command("cp", "-a", p, dst).CombinedOutput(); err != nil {
			t.Fatalf("cp %s: %v\n%s", p, err, b)
		}
	}
	return chroot
}

// TestPrometheusClosures: Debian's Prometheus, promtool and nginx exporter, relocated, are
// closures of the program root and one path per library, and run chrooted into a copy of
// their closure alone, as nobody.
func TestPrometheusClosures(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the Prometheus and nginx exporter closures with nix-build")
	}
	nixStore := testenv.RequireBinary(t, "nix-store")
	for _, tc := range []struct {
		name    string
		closure func(testing.TB) string
		run     [][]string // bin/NAME args…, and what its output contains
	}{
		{"prometheus", PrometheusClosure, [][]string{{"prometheus", "--version", "prometheus, version"}, {"promtool", "--version", "promtool, version"}}},
		{"nginx-prometheus-exporter", NginxExporterClosure, [][]string{{"nginx-prometheus-exporter", "-version", "NGINX Prometheus Exporter version="}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := tc.closure(t)
			if !strings.HasPrefix(filepath.Base(root)[33:], tc.name+"-") {
				t.Errorf("root %s: want the name %s-VERSION", root, tc.name)
			}
			out, err := exec.Command(nixStore, "-qR", root).Output()
			if err != nil {
				t.Fatalf("nix-store -qR %s: %v", root, err)
			}
			paths := strings.Fields(string(out))
			// Debian's Go programs load libc and its loader, nothing else.
			if len(paths) != 3 || !strings.Contains(string(out), "-libc-") || !strings.Contains(string(out), "-ld-linux") {
				t.Errorf("closure of %s: %d paths, want the root, libc and ld-linux:\n%s", root, len(paths), out)
			}
			chroot := closureChroot(t, paths)
			for _, r := range tc.run {
				bin := filepath.Join(root, "bin", r[0])
				b, err := exec.Command("chroot", "--userspec=65534:65534", chroot, bin, r[1]).CombinedOutput()
				if err != nil || !strings.Contains(string(b), r[2]) {
					t.Errorf("chroot %s %s %s: %v\n%s", chroot, bin, r[1], err, b)
				}
			}
		})
	}
}

package imagegentest

import (
	_ "embed"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

//go:embed nginx.nix
var nginxNix []byte

// nginxGraph is what nginx.nix builds: the program and the shared libraries it loads.
type nginxGraph struct {
	Version     string     `json:"version"`
	Program     string     `json:"program"`
	Interpreter string     `json:"interpreter"` // the loader's soname, one of Libs
	Needed      []string   `json:"needed"`      // the program's DT_NEEDED sonames
	Libs        []nginxLib `json:"libs"`
}

// nginxLib is one library: one store path.
type nginxLib struct {
	Name   string   `json:"name"`   // store name, e.g. libpcre2-8-0.11.2
	Soname string   `json:"soname"` // e.g. libpcre2-8.so.0
	Base   string   `json:"base"`   // the real file's name, e.g. libpcre2-8.so.0.11.2
	File   string   `json:"file"`   // the real file on this host
	Needed []string `json:"needed"` // its DT_NEEDED sonames
}

// lddLine matches "libz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x…)".
var lddLine = regexp.MustCompile(`^\s*(\S+) => (/\S+) \(0x[0-9a-f]+\)$`)

// NginxClosure relocates this machine's nginx (Debian's /usr/sbin/nginx) into the Nix store
// with every shared library it loads, and returns the root store path, which holds bin/nginx.
// The closure runs from the store alone (see nginx.nix).
func NginxClosure(t testing.TB) string {
	t.Helper()
	testenv.RequireRoot(t)
	nixBuild := testenv.RequireBinary(t, "nix-build")
	patchelf := testenv.RequireBinary(t, "patchelf")
	ldd := testenv.RequireBinary(t, "ldd")
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		nginx = "/usr/sbin/nginx"
		if _, err := os.Stat(nginx); err != nil {
			testenv.SkipOrFail(t, "nginx is not installed: apt-get install -y nginx")
		}
	}
	if nginx, err = filepath.EvalSymlinks(nginx); err != nil {
		t.Fatal(err)
	}
	g := nginxClosureGraph(t, nginx, ldd, patchelf)
	dir := t.TempDir()
	b, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	graph, expr := filepath.Join(dir, "graph.json"), filepath.Join(dir, "nginx.nix")
	if err := os.WriteFile(graph, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(expr, nginxNix, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(nixBuild, expr, "--no-out-link", "--option", "substituters", "",
		"--arg", "graph", graph, "--argstr", "patchelf", patchelf)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("nix-build nginx closure: %v\n%s", err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// nginxClosureGraph reads nginx's libraries (ldd), their real files and every file's DT_NEEDED.
func nginxClosureGraph(t testing.TB, nginx, ldd, patchelf string) nginxGraph {
	t.Helper()
	output := func(name string, args ...string) string {
		b, err := exec.Command(name, args...).Output()
		if err != nil {
			t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
		}
		return string(b)
	}
	lib := func(soname, file string) nginxLib {
		real, err := filepath.EvalSymlinks(file)
		if err != nil {
			t.Fatalf("resolve %s: %v", file, err)
		}
		base := filepath.Base(real)
		return nginxLib{Name: storeName(base), Soname: soname, Base: base, File: real,
			Needed: strings.Fields(output(patchelf, "--print-needed", real))}
	}
	interp := strings.TrimSpace(output(patchelf, "--print-interpreter", nginx))
	g := nginxGraph{
		Program:     nginx,
		Interpreter: filepath.Base(interp),
		Needed:      strings.Fields(output(patchelf, "--print-needed", nginx)),
		Libs:        []nginxLib{lib(filepath.Base(interp), interp)},
	}
	for _, l := range strings.Split(output(ldd, nginx), "\n") {
		if m := lddLine.FindStringSubmatch(l); m != nil {
			g.Libs = append(g.Libs, lib(m[1], m[2]))
		}
	}
	known := map[string]bool{}
	for _, l := range g.Libs {
		known[l.Soname] = true
	}
	for _, l := range append(g.Libs, nginxLib{Soname: "nginx", Needed: g.Needed}) {
		for _, n := range l.Needed {
			if !known[n] {
				t.Fatalf("%s needs %s, which ldd %s did not resolve", l.Soname, n, nginx)
			}
		}
	}
	// "nginx version: nginx/1.22.1" on stderr.
	v, err := exec.Command(nginx, "-v").CombinedOutput()
	if err != nil {
		t.Fatalf("%s -v: %v\n%s", nginx, err, v)
	}
	_, g.Version, _ = strings.Cut(strings.TrimSpace(string(v)), "nginx/")
	if g.Version == "" {
		t.Fatalf("%s -v printed %q, want nginx version: nginx/X.Y.Z", nginx, v)
	}
	return g
}

// storeName names a library's store path after its file, as Nix packages are named:
// libpcre2-8.so.0.11.2 → libpcre2-8-0.11.2, libc.so.6 → libc-6, ld-linux-x86-64.so.2 → ld-linux-x86-64-2.
func storeName(base string) string {
	if name, version, ok := strings.Cut(base, ".so."); ok {
		return name + "-" + version
	}
	return strings.TrimSuffix(base, ".so")
}

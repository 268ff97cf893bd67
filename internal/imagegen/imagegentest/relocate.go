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

//go:embed relocate.nix
var relocateNix []byte

// Program is one of this machine's dynamically linked programs to put into the store: its file
// here and its name in the closure root's bin/.
type Program struct {
	File string `json:"file"`
	Name string `json:"name"`
}

// relocGraph is what relocate.nix builds: the programs and the shared libraries they load.
type relocGraph struct {
	Name     string         `json:"name"`
	Version  string         `json:"version"`
	Programs []relocProgram `json:"programs"`
	Libs     []relocLib     `json:"libs"`
}

// relocProgram is one program of the root.
type relocProgram struct {
	Program
	Interpreter string   `json:"interpreter"` // the loader's soname, one of the graph's libs
	Needed      []string `json:"needed"`      // the program's DT_NEEDED sonames
}

// relocLib is one library: one store path.
type relocLib struct {
	Name   string   `json:"name"`   // store name, e.g. libpcre2-8-0.11.2
	Soname string   `json:"soname"` // e.g. libpcre2-8.so.0
	Base   string   `json:"base"`   // the real file's name, e.g. libpcre2-8.so.0.11.2
	File   string   `json:"file"`   // the real file on this host
	Needed []string `json:"needed"` // its DT_NEEDED sonames
}

// lddLine matches "libz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x…)".
var lddLine = regexp.MustCompile(`^\s*(\S+) => (/\S+) \(0x[0-9a-f]+\)$`)

// RelocatedClosure puts this machine's dynamically linked programs (Debian's) into the Nix store
// as the root NAME-VERSION holding bin/<Program.Name> for each, with one store path per shared
// library they load, and returns the root. The closure runs from the store alone (relocate.nix).
func RelocatedClosure(t testing.TB, name, version string, programs ...Program) string {
	t.Helper()
	testenv.RequireRoot(t)
	nixBuild := testenv.RequireBinary(t, "nix-build")
	patchelf := testenv.RequireBinary(t, "patchelf")
	ldd := testenv.RequireBinary(t, "ldd")
	g := relocGraphOf(t, name, version, programs, ldd, patchelf)
	dir := t.TempDir()
	b, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	graph, expr := filepath.Join(dir, "graph.json"), filepath.Join(dir, "relocate.nix")
	if err := os.WriteFile(graph, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(expr, relocateNix, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(nixBuild, expr, "--no-out-link", "--option", "substituters", "",
		"--arg", "graph", graph, "--argstr", "patchelf", patchelf)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("nix-build %s closure: %v\n%s", name, err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// relocGraphOf reads each program's loader and libraries (ldd), their real files and every
// file's DT_NEEDED; a library that two programs load is one store path.
func relocGraphOf(t testing.TB, name, version string, programs []Program, ldd, patchelf string) relocGraph {
	t.Helper()
	output := func(name string, args ...string) string {
		b, err := exec.Command(name, args...).Output()
		if err != nil {
			t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
		}
		return string(b)
	}
	g := relocGraph{Name: name, Version: version}
	known := map[string]bool{}
	addLib := func(soname, file string) {
		if known[soname] {
			return
		}
		known[soname] = true
		real, err := filepath.EvalSymlinks(file)
		if err != nil {
			t.Fatalf("resolve %s: %v", file, err)
		}
		base := filepath.Base(real)
		g.Libs = append(g.Libs, relocLib{Name: storeName(base), Soname: soname, Base: base, File: real,
			Needed: strings.Fields(output(patchelf, "--print-needed", real))})
	}
	for _, p := range programs {
		file, err := filepath.EvalSymlinks(p.File)
		if err != nil {
			t.Fatalf("resolve %s: %v", p.File, err)
		}
		interp := strings.TrimSpace(output(patchelf, "--print-interpreter", file))
		rp := relocProgram{Program: Program{File: file, Name: p.Name}, Interpreter: filepath.Base(interp),
			Needed: strings.Fields(output(patchelf, "--print-needed", file))}
		addLib(rp.Interpreter, interp)
		for _, l := range strings.Split(output(ldd, file), "\n") {
			if m := lddLine.FindStringSubmatch(l); m != nil {
				addLib(m[1], m[2])
			}
		}
		g.Programs = append(g.Programs, rp)
	}
	needers := make([]relocLib, 0, len(g.Libs)+len(g.Programs))
	needers = append(needers, g.Libs...)
	for _, p := range g.Programs {
		needers = append(needers, relocLib{Soname: p.Name, Needed: p.Needed})
	}
	for _, l := range needers {
		for _, n := range l.Needed {
			if !known[n] {
				t.Fatalf("%s needs %s, which ldd did not resolve", l.Soname, n)
			}
		}
	}
	return g
}

// hostProgram finds a program of this machine in PATH or at fallback; missing, it skips the
// test (fails under CI) naming the Debian package that installs it.
func hostProgram(t testing.TB, name, fallback, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		p = fallback
		if _, err := os.Stat(p); err != nil {
			testenv.SkipOrFail(t, "%s is not installed: apt-get install -y %s", name, pkg)
		}
	}
	return p
}

// versionAfter runs program args and returns the first field after marker in its output, e.g.
// "nginx version: nginx/1.22.1" after "nginx/" is "1.22.1".
func versionAfter(t testing.TB, marker, program string, args ...string) string {
	t.Helper()
	out, err := exec.Command(program, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", program, strings.Join(args, " "), err, out)
	}
	_, rest, _ := strings.Cut(string(out), marker)
	if f := strings.Fields(rest); len(f) > 0 {
		return strings.TrimRight(f[0], ",")
	}
	t.Fatalf("%s %s printed %q: no version after %q", program, strings.Join(args, " "), out, marker)
	return ""
}

// NginxClosure relocates this machine's nginx (Debian's /usr/sbin/nginx) into the store:
// nginx-VERSION/bin/nginx.
func NginxClosure(t testing.TB) string {
	t.Helper()
	nginx := hostProgram(t, "nginx", "/usr/sbin/nginx", "nginx")
	// "nginx version: nginx/1.22.1" on stderr.
	return RelocatedClosure(t, "nginx", versionAfter(t, "nginx/", nginx, "-v"), Program{File: nginx, Name: "nginx"})
}

// PrometheusClosure relocates Debian's Prometheus server and promtool into the store:
// prometheus-VERSION/bin/{prometheus,promtool}, the names nixpkgs' prometheus package has.
func PrometheusClosure(t testing.TB) string {
	t.Helper()
	prom := hostProgram(t, "prometheus", "/usr/bin/prometheus", "prometheus")
	promtool := hostProgram(t, "promtool", "/usr/bin/promtool", "prometheus")
	// "prometheus, version 2.42.0+ds (branch: …)"
	return RelocatedClosure(t, "prometheus", versionAfter(t, "version ", prom, "--version"),
		Program{File: prom, Name: "prometheus"}, Program{File: promtool, Name: "promtool"})
}

// NginxExporterClosure relocates Debian's prometheus-nginx-exporter into the store under the
// upstream program name that nixpkgs uses: nginx-prometheus-exporter-VERSION/bin/nginx-prometheus-exporter.
func NginxExporterClosure(t testing.TB) string {
	t.Helper()
	exp := hostProgram(t, "prometheus-nginx-exporter", "/usr/bin/prometheus-nginx-exporter", "prometheus-nginx-exporter")
	// "NGINX Prometheus Exporter version=0.11.0-1+b4 commit= …"
	return RelocatedClosure(t, "nginx-prometheus-exporter", versionAfter(t, "version=", exp, "-version"),
		Program{File: exp, Name: "nginx-prometheus-exporter"})
}

// storeName names a library's store path after its file, as Nix packages are named:
// libpcre2-8.so.0.11.2 → libpcre2-8-0.11.2, libc.so.6 → libc-6, ld-linux-x86-64.so.2 → ld-linux-x86-64-2.
func storeName(base string) string {
	if name, version, ok := strings.Cut(base, ".so."); ok {
		return name + "-" + version
	}
	return strings.TrimSuffix(base, ".so")
}

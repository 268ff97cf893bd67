package main

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/imagegentest"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

// TestMain keeps the default layer cache of the builds these tests run out of the user's.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "imagegen-cache-")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_CACHE_HOME", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// run runs imagegen in-process and returns its exit code, stdout and stderr.
func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	code = execute(root, args, &errb)
	return code, out.String(), errb.String()
}

func specPath(t *testing.T, name string) string {
	return filepath.Join(imagegentest.RepoRoot(t), "profiles", "images", name+".json")
}

func TestVersionAndHelp(t *testing.T) {
	code, out, _ := run(t, "version")
	if code != 0 || !strings.HasPrefix(out, "imagegen ") {
		t.Fatalf("version: %d %q", code, out)
	}
	if c, o, e := run(t, "--version"); c != 0 || o != out {
		t.Fatalf("--version: %d %q %q, want %q as the version command prints", c, o, e, out)
	}
	for _, sub := range []string{"build", "plan", "inspect"} {
		c, _, err := newRootCmd().Find([]string{sub})
		if err != nil || c.Example == "" {
			t.Errorf("%s has no Example (%v)", sub, err)
		}
	}
}

// TestBadInput: each mistake gives one clear line, exit 1, and leaves no output behind.
func TestBadInput(t *testing.T) {
	root := imagegentest.FixedClosure(t)
	dir := t.TempDir()
	badJSON := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(badJSON, []byte(`{"name": "x",`), 0o644); err != nil {
		t.Fatal(err)
	}
	shellHC := filepath.Join(dir, "shell.json")
	if err := os.WriteFile(shellHC, []byte(`{"name":"x","entrypoint":["/bin/x"],
		"healthcheck":{"test":["CMD","curl","-f","http://localhost:9100/metrics","||","exit","1"]}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()

	cyclic := filepath.Join(dir, "cyclic.json")
	a, b := "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-a", "/nix/store/zyxwvsrqpnmlkjihgfdcba9876543210-b"
	if err := os.WriteFile(cyclic, []byte(`[{"path":"`+a+`","narHash":"sha256-+g5V+w+BPtGmkpmDes6ayB1iSGRg9lrJXGBbme/0BwU=","narSize":1,"references":["`+b+`"]},
		{"path":"`+b+`","narHash":"sha256-+g5V+w+BPtGmkpmDes6ayB1iSGRg9lrJXGBbme/0BwU=","narSize":1,"references":["`+a+`"]}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	flake := badFlake(t)
	ro := testenv.ReadOnlyDir(t)
	notLayout := t.TempDir()
	if err := os.WriteFile(filepath.Join(notLayout, "keep"), nil, 0o644); err != nil {
		t.Fatal(err)
	}

	out := t.TempDir() // must stay empty
	base := []string{"build", "--name", "fixed", "--entrypoint", "/bin/imagegen-fixed"}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"invalid JSON", []string{"build", "--spec", badJSON, "--root", root, "-o", "oci:" + out + "/x"}, "is not valid JSON"},
		{"unreadable spec", []string{"build", "--spec", dir, "-o", "oci:" + out + "/x"}, "is a directory"},
		{"missing spec", []string{"build", "--spec", filepath.Join(dir, "nope.json"), "-o", "oci:" + out + "/x"}, "no such file"},
		{"shell healthcheck", []string{"build", "--spec", shellHC, "--root", root, "-o", "oci:" + out + "/x"}, `shell syntax "||"`},
		{"outside the store", append(base, "--root", dir, "-o", "oci:"+out+"/x"), "outside the Nix store"},
		{"missing path", append(base, "--root", "/nix/store/00000000000000000000000000000000-missing", "-o", "oci:"+out+"/x"), "does not exist"},
		{"cap 0", append(base, "--root", root, "--max-layers", "0", "-o", "oci:"+out+"/x"), "--max-layers 0 is out of range"},
		{"cap 125", append(base, "--root", root, "--max-layers", "125", "-o", "oci:"+out+"/x"), "max layers 125 is out of range: use 2..124"},
		{"unknown arch", append(base, "--arch", "riscv64", "--root", "riscv64="+root, "-o", "oci:"+out+"/x"), `unknown arch "riscv64"`},
		{"docker-archive, two arches", append(base, "--arch", "amd64,arm64", "--root", "amd64="+root, "--root", "arm64="+root,
			"-o", "docker-archive:"+out+"/x.tar"), "docker-archive holds one platform but 2 are built (linux/amd64, linux/arm64/v8): pass --platform linux/amd64"},
		{"unreachable registry", append(base, "--root", root, "-o", "registry:"+closed+"/x:latest"), "is unreachable"},
		{"missing output directory", append(base, "--root", root, "-o", "docker-archive:"+out+"/no/such/dir/x.tar"), "does not exist: create it"},
		{"no output", append(base, "--root", root), "no --output"},
		{"unknown output", append(base, "--root", root, "-o", "tarball:"+out+"/x"), "unknown output"},
		{"bad closure file", append(base, "--closure", "amd64="+badJSON, "-o", "oci:"+out+"/x"), "bad.json"},
		{"cyclic closure", append(base, "--closure", "amd64="+cyclic, "-o", "oci:"+out+"/x"), "closure has a reference cycle " + a + " → " + b + " → " + a},
		{"wrong-arch closure", append(base, "--arch", "arm64", "--root", "arm64="+root, "-o", "oci:"+out+"/x"),
			"the arm64 closure holds " + root + "/bin/imagegen-fixed, an ELF program or library for x86-64 (amd64)"},
		{"missing entrypoint", []string{"build", "--name", "fixed", "--entrypoint", `["/bin/alsonothere"]`, "--root", root, "-o", "oci:" + out + "/x"},
			"entrypoint program /bin/alsonothere does not exist in the amd64 image"},
		{"missing healthcheck program", append(base, "--healthcheck", `["CMD","/bin/nohealth","check"]`, "--root", root, "-o", "oci:"+out+"/x"),
			"healthcheck program /bin/nohealth does not exist in the amd64 image"},
		{"entrypoint not a program", []string{"build", "--name", "fixed", "--entrypoint", `["` + root + `/share/imagegen-fixed/data.json"]`, "--root", root, "-o", "oci:" + out + "/x"},
			"is not executable by uid 65534"},
		{"docker-archive is a directory", append(base, "--root", root, "-o", "docker-archive:"+out), "is a directory: name a file"},
		{"oci: non-empty directory", append(base, "--root", root, "-o", "oci:"+notLayout), "is a non-empty directory that is not an OCI layout"},
		{"unwritable directory", append(base, "--root", root, "-o", "oci:"+out+"/x", "-o", "docker-archive:"+ro+"/x.tar"), "cannot write in " + ro},
		{"nix: no such attribute", append(base, "--root", flake+"#nope", "-o", "oci:"+out+"/x"), "does not provide attribute 'packages.x86_64-linux.nope'"},
		{"nix: evaluation error", append(base, "--root", flake+"#undef", "-o", "oci:"+out+"/x"), "error: attribute 'missingAttr' missing at "},
		{"nix: build failure", append(base, "--root", flake+"#bad", "-o", "oci:"+out+"/x"), "failed with exit code 3; last 1 log lines: > this build fails on purpose"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := run(t, tc.args...)
			if code == 0 {
				t.Fatalf("exit 0, stdout %q", stdout)
			}
			if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "imagegen: ") || !strings.Contains(stderr, tc.want) {
				t.Fatalf("stderr = %q, want one line containing %q", stderr, tc.want)
			}
			if ents, _ := os.ReadDir(out); len(ents) != 0 {
				t.Fatalf("left behind: %v", ents)
			}
		})
	}
}

// badFlake writes a flake whose packages fail: a missing attribute (evaluation) and a builder
// that exits 3 (build); it returns "path:DIR".
func badFlake(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	flake := `{ outputs = { self }: {
  packages.x86_64-linux.undef = builtins.derivation { name = "u"; system = "x86_64-linux"; builder = "/bin/sh"; args = [ ({ }).missingAttr ]; };
  packages.x86_64-linux.bad = builtins.derivation { name = "bad-` + filepath.Base(dir) + `"; system = "x86_64-linux"; builder = "/bin/sh";
    args = [ "-c" "echo this build fails on purpose >&2; exit 3" ]; };
}; }
`
	if err := os.WriteFile(filepath.Join(dir, "flake.nix"), []byte(flake), 0o644); err != nil {
		t.Fatal(err)
	}
	return "path:" + dir
}

// TestOutputsTogether: two outputs commit together. The second, a registry that accepts the
// blobs but refuses every manifest (a full registry), fails after the first, an OCI layout,
// was written: the layout is not put in place, nothing is left beside it, exit 1, one line.
func TestOutputsTogether(t *testing.T) {
	root := imagegentest.FixedClosure(t)
	reg := testenv.FailingRegistry(t, func(r *http.Request) bool {
		return r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/")
	})
	out := t.TempDir()
	code, stdout, stderr := run(t, "build", "-q", "--name", "fixed", "--entrypoint", "/bin/imagegen-fixed", "--root", root,
		"-o", "oci:"+out+"/first", "-o", "registry:"+reg+"/fixed:v1")
	if code != 1 || stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "storage full (no output was written)") {
		t.Fatalf("stderr = %q", stderr)
	}
	if ents, _ := os.ReadDir(out); len(ents) != 0 {
		t.Fatalf("the first output was committed or left behind: %v", ents)
	}
	// The same two outputs with a working registry: both are in place.
	code, stdout, stderr = run(t, "build", "-q", "--name", "fixed", "--entrypoint", "/bin/imagegen-fixed", "--root", root,
		"-o", "oci:"+out+"/first", "-o", "registry:"+testenv.Registry(t)+"/fixed:v1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "first", "index.json")); err != nil {
		t.Fatal(err)
	}
}

func TestPlanAndInspect(t *testing.T) {
	root := imagegentest.FixedClosure(t)
	code, out, stderr := run(t, "plan", "--name", "fixed", "--entrypoint", "/bin/imagegen-fixed", "--root", root, "--max-layers", "3")
	if code != 0 || !strings.Contains(out, "amd64: 3 store paths") || !strings.Contains(out, "2 layers + 1 customisation layer (cap 3)") {
		t.Fatalf("plan: %d %q %q", code, out, stderr)
	}
	// plan --json names sizes as nix path-info does (narSize), in camelCase throughout.
	code, out, stderr = run(t, "plan", "--name", "fixed", "--entrypoint", "/bin/imagegen-fixed", "--root", root, "--max-layers", "3", "--json")
	var plans []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &plans) != nil || len(plans) != 1 {
		t.Fatalf("plan --json: %d %q %q", code, out, stderr)
	}
	layers, _ := plans[0]["layers"].([]any)
	first, _ := layers[0].(map[string]any)
	if plans[0]["narSize"] == nil || plans[0]["paths"] == nil || first["narSize"] == nil || first["paths"] == nil || strings.Contains(out, "NarSize") || strings.Contains(out, "narBytes") {
		t.Fatalf("plan --json keys: %s", out)
	}
	dir := t.TempDir()
	tarPath := filepath.Join(dir, "fixed.tar")
	code, out, stderr = run(t, "build", "-q", "--name", "fixed", "--tag", "v1", "--entrypoint", "/bin/imagegen-fixed", "--root", root,
		"--max-layers", "3", "-o", "docker-archive:"+tarPath)
	if code != 0 || !strings.HasPrefix(out, "sha256:") {
		t.Fatalf("build: %d %q %q", code, out, stderr)
	}
	code, out, stderr = run(t, "inspect", tarPath)
	if code != 0 || !strings.Contains(out, "layers      3") || !strings.Contains(out, root+" (+") && !strings.Contains(out, root) {
		t.Fatalf("inspect: %d %q %q", code, out, stderr)
	}
	if _, err := os.Stat(tarPath + ".spdx.json"); err != nil {
		t.Fatalf("no SBOM beside the tarball: %v", err)
	}
}

// TestInstallableRoot: a root that is a Nix installable is built with nix build, then imaged.
func TestInstallableRoot(t *testing.T) {
	if testing.Short() {
		t.Skip("evaluates and builds a flake")
	}
	installable := imagegentest.Flake(t, "imagegen-flake")
	code, out, stderr := run(t, "plan", "--name", "flake", "--entrypoint", "/bin/imagegen-flake", "--root", "amd64="+installable)
	if code != 0 || !strings.Contains(out, "amd64: 3 store paths") || !strings.Contains(out, "-imagegen-flake-0.1.0") {
		t.Fatalf("plan of %s: %d %q %q", installable, code, out, stderr)
	}
}

// TestDefaultCache: the layer cache is on by default ($XDG_CACHE_HOME/imagegen/layers) and
// --no-cache keeps none; both give the same image.
func TestDefaultCache(t *testing.T) {
	root := imagegentest.FixedClosure(t)
	build := func(xdg string, extra ...string) string {
		t.Setenv("XDG_CACHE_HOME", xdg)
		args := append([]string{"build", "-q", "--name", "fixed", "--entrypoint", "/bin/imagegen-fixed", "--root", root,
			"-o", "oci:" + filepath.Join(t.TempDir(), "out")}, extra...)
		code, out, stderr := run(t, args...)
		if code != 0 {
			t.Fatalf("build %v: %d %q", extra, code, stderr)
		}
		return strings.TrimSpace(out)
	}
	blobs := func(xdg string) int {
		es, _ := os.ReadDir(filepath.Join(xdg, "imagegen", "layers", "blobs", "sha256"))
		n := 0
		for _, e := range es {
			if !strings.HasPrefix(e.Name(), ".") {
				n++
			}
		}
		return n
	}
	cached := t.TempDir()
	d1 := build(cached)
	if blobs(cached) == 0 {
		t.Fatalf("a default build left no layer in %s/imagegen/layers", cached)
	}
	d2 := build(cached)
	uncached := t.TempDir()
	d3 := build(uncached, "--no-cache")
	if _, err := os.Stat(filepath.Join(uncached, "imagegen")); !os.IsNotExist(err) {
		t.Fatalf("--no-cache made a cache directory (%v)", err)
	}
	if d1 != d2 || d1 != d3 {
		t.Fatalf("digests differ: cold %s, warm %s, --no-cache %s", d1, d2, d3)
	}
}

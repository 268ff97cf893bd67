package preflight

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/closure"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/imagegentest"
)

// fakeStore makes a store directory with an app path (bin/app: an x86-64 program, bin/script,
// bin/text, bin/private, bin/loaderless) and a shell path, and returns the graph of both.
func fakeStore(t *testing.T) (*closure.Graph, string, string) {
	t.Helper()
	store := filepath.Join(t.TempDir(), "store")
	app := filepath.Join(store, "0123456789abcdfghijklmnpqrsvwxyz-app")
	sh := filepath.Join(store, "zyxwvsrqpnmlkjihgfdcba9876543210-shell")
	for _, d := range []string{app + "/bin", sh + "/bin"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	elfBytes := imagegentest.HelloELF("hi\n")
	host, err := os.ReadFile("/bin/true") // dynamically linked: its loader is not in the store
	if err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]struct {
		data []byte
		mode os.FileMode
	}{
		"app/bin/app":        {elfBytes, 0o555},
		"app/bin/script":     {[]byte("#!" + sh + "/bin/sh -e\necho hi\n"), 0o555},
		"app/bin/badscript":  {[]byte("#!/bin/bash\necho hi\n"), 0o555},
		"app/bin/text":       {[]byte("hello\n"), 0o555},
		"app/bin/private":    {elfBytes, 0o550},
		"app/bin/loaderless": {host, 0o555},
		"shell/bin/sh":       {elfBytes, 0o555},
	} {
		dir := app
		if strings.HasPrefix(name, "shell/") {
			dir = sh
		}
		p := filepath.Join(dir, strings.SplitN(name, "/", 2)[1])
		if err := os.WriteFile(p, f.data, f.mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("app", filepath.Join(app, "bin", "alias")); err != nil {
		t.Fatal(err)
	}
	g, err := closure.New([]string{app}, []*closure.StorePath{{Path: app, References: []string{sh}}, {Path: sh}})
	if err != nil {
		t.Fatal(err)
	}
	return g, app, sh
}

func TestCheckArch(t *testing.T) {
	g, app, _ := fakeStore(t)
	ctx := context.Background()
	// /bin/true is this machine's (amd64) program too.
	if err := CheckArch(ctx, g, "amd64"); err != nil {
		t.Fatalf("amd64: %v", err)
	}
	err := CheckArch(ctx, g, "arm64")
	if err == nil || !strings.Contains(err.Error(), "the arm64 closure holds "+app+"/bin/") ||
		!strings.Contains(err.Error(), "an ELF program or library for x86-64 (amd64)") || !strings.Contains(err.Error(), "aarch64-linux") {
		t.Fatalf("arm64: %v", err)
	}
}

func TestProgram(t *testing.T) {
	g, app, sh := fakeStore(t)
	im := &Image{Arch: "amd64", Graph: g, Path: "/bin", UID: 65534, Symlinks: map[string]string{
		"/bin/app": app + "/bin/app", "/bin/script": app + "/bin/script", "/bin/alias": app + "/bin/alias",
	}}
	for _, tc := range []struct{ argv0, want string }{
		{"/bin/app", ""},
		{"app", ""}, // looked up on PATH
		{"/bin/alias", ""},
		{app + "/bin/app", ""},
		{"/bin/script", ""},
		{"/bin/alsonothere", "entrypoint program /bin/alsonothere does not exist in the amd64 image"},
		{"nothere", `entrypoint program "nothere" is not on the amd64 image's PATH /bin`},
		{app + "/bin/text", "is neither an ELF program nor a #! script"},
		{app + "/bin/private", "is not executable by uid 65534"},
		{app + "/bin/badscript", "is a #! script: entrypoint interpreter program /bin/bash does not exist"},
		{app + "/bin/loaderless", "needs the loader /lib64/ld-linux-x86-64.so.2, which is not in the amd64 image"},
		{"/nix/store/00000000000000000000000000000000-x/bin/y", "does not exist in the amd64 image"},
		{sh + "/../../etc/passwd", "does not exist"},
	} {
		err := im.Program("entrypoint", tc.argv0)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("Program(%s) = %v, want %q", tc.argv0, err, tc.want)
		}
	}
	im.Arch = "arm64"
	if err := im.Program("healthcheck", "/bin/app"); err == nil || !strings.Contains(err.Error(), "is for x86-64 (amd64), not for the arm64 image") {
		t.Errorf("arm64 healthcheck: %v", err)
	}
	im.Arch, im.UID = "amd64", 0
	if err := im.Program("entrypoint", app+"/bin/private"); err != nil {
		t.Errorf("root runs 0550: %v", err)
	}
}

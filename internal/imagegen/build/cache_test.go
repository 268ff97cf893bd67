package build

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCacheDir(t *testing.T) {
	xdg := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", xdg)
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	tests := []struct {
		name   string
		choice CacheChoice
		getenv func(string) string
		want   string
	}{
		{"default: XDG cache dir", CacheChoice{}, env(), filepath.Join(xdg, "imagegen", "layers")},
		{"--cache DIR", CacheChoice{Dir: "/some/dir"}, env(), "/some/dir"},
		{"--no-cache", CacheChoice{Off: true}, env(), ""},
		{"--no-cache wins over --cache", CacheChoice{Dir: "/some/dir", Off: true}, env(), ""},
		{"inside a Nix builder", CacheChoice{}, env("NIX_BUILD_TOP", "/build"), ""},
		{"--cache inside a Nix builder", CacheChoice{Dir: "/some/dir"}, env("NIX_BUILD_TOP", "/build"), "/some/dir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CacheDir(tt.choice, tt.getenv, log); got != tt.want {
				t.Fatalf("CacheDir = %q, want %q", got, tt.want)
			}
		})
	}
	if fi, err := os.Stat(filepath.Join(xdg, "imagegen", "layers")); err != nil || !fi.IsDir() {
		t.Fatalf("the default cache directory was not created: %v", err)
	}
	if logs.Len() != 0 {
		t.Fatalf("unexpected warnings: %s", logs.String())
	}

	// A default directory that cannot be made: one warning, and no cache.
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_CACHE_HOME", file)
	if got := CacheDir(CacheChoice{}, env(), log); got != "" {
		t.Fatalf("unusable default: CacheDir = %q, want none", got)
	}
	if n := strings.Count(logs.String(), "\n"); n != 1 || !strings.Contains(logs.String(), "building without the layer cache") {
		t.Fatalf("want one warning line, got %q", logs.String())
	}
}

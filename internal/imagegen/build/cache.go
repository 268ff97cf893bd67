package build

import (
	"log/slog"
	"os"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/layer"
)

// CacheChoice is what the command line says about the layer cache.
type CacheChoice struct {
	// Dir is --cache (or $IMAGEGEN_CACHE): use this directory, and fail if it cannot be used.
	Dir string
	// Off is --no-cache.
	Off bool
}

// CacheDir resolves the layer cache directory of a build ("" is none). The cache is on by
// default, in layer.DefaultCacheDir; it is off with --no-cache (which wins over --cache and
// $IMAGEGEN_CACHE) and inside a Nix builder
// ($NIX_BUILD_TOP set: the result must not depend on state outside the store, and HOME does
// not exist). A default directory that cannot be created is a warning, and the build goes on
// without a cache; a directory given with --cache is the caller's choice, so Build fails on it.
func CacheDir(c CacheChoice, getenv func(string) string, log *slog.Logger) string {
	if c.Off {
		return ""
	}
	if c.Dir != "" {
		return c.Dir
	}
	if getenv("NIX_BUILD_TOP") != "" {
		return ""
	}
	dir, err := layer.DefaultCacheDir()
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		log.Warn("building without the layer cache", "reason", err.Error())
		return ""
	}
	return dir
}

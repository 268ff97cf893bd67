package layer

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// formatVersion changes whenever the bytes written for the same input change.
const formatVersion = "imagegen-layer-v1"

// Cache is a content-addressed layer cache in a directory: blobs/sha256/<digest> holds the
// compressed layer and keys/<key>.json its digest, diffID, size and media type. The key is
// the sha256 of the sorted store paths, their NAR hashes and the options that change bytes,
// so a rebuild finds every unchanged layer without reading the store.
type Cache struct {
	Dir string
}

// DefaultCacheDir is where the layer cache lives unless told otherwise: imagegen/layers below
// the user's cache directory ($XDG_CACHE_HOME, else ~/.cache).
func DefaultCacheDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory for the layer cache (%w): set XDG_CACHE_HOME, or pass --cache DIR or --no-cache", err)
	}
	return filepath.Join(d, "imagegen", "layers"), nil
}

// NewCache opens (creating if needed) a layer cache in dir.
func NewCache(dir string) (*Cache, error) {
	if dir == "" {
		return nil, fmt.Errorf("layer cache directory is empty")
	}
	for _, d := range []string{filepath.Join(dir, "blobs", "sha256"), filepath.Join(dir, "keys")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("create layer cache %s: %w", dir, err)
		}
	}
	return &Cache{Dir: dir}, nil
}

type cacheEntry struct {
	Digest    string `json:"digest"`
	DiffID    string `json:"diffID"`
	Size      int64  `json:"size"`
	MediaType string `json:"mediaType"`
}

// compressorModule is the module whose code writes the compressed bytes.
const compressorModule = "github.com/klauspost/compress"

// compressorVersion is the version of compressorModule linked into this binary (from its build
// information): another version may compress the same tar into other bytes. A test binary
// carries no module list: there it is "unknown".
var compressorVersion = sync.OnceValue(func() string {
	bi, _ := debug.ReadBuildInfo()
	return moduleVersion(bi, compressorModule)
})

// moduleVersion is the version (or replacement) of module path in bi, or "unknown".
func moduleVersion(bi *debug.BuildInfo, path string) string {
	if bi == nil {
		return "unknown"
	}
	for _, d := range bi.Deps {
		if d.Path == path {
			if d.Replace != nil {
				return d.Replace.Path + "@" + d.Replace.Version
			}
			return d.Version
		}
	}
	return "unknown"
}

// keyHeader names everything but the store paths that decides a store layer's bytes: the
// layer format, the compressor and its version, the level, the tar format and archive/tar's Go
// version, and the mtime.
func keyHeader(opts Options) string {
	return fmt.Sprintf("%s\ncompression=%s compressor=%s@%s level=%d tar=%s go=%s epoch=%d\n", formatVersion,
		opts.Compression, compressorModule, compressorVersion(), opts.Level, tarFormatName, runtime.Version(), opts.Epoch.Unix())
}

// cacheKey is the sha256 of everything that decides a store layer's bytes.
func cacheKey(paths []string, opts Options) (string, error) {
	h := sha256.New()
	io.WriteString(h, keyHeader(opts))
	for _, p := range paths {
		nh, ok := opts.NarHashes[p]
		if !ok || nh == "" {
			return "", fmt.Errorf("layer cache needs the NAR hash of %s: set Options.NarHashes (closure.Graph.NarHashes())", p)
		}
		fmt.Fprintf(h, "%s %s\n", p, nh)
	}
	return fmt.Sprintf("%x", h.Sum(nil)), nil
}

func (c *Cache) blobPath(digest v1.Hash) string {
	return filepath.Join(c.Dir, "blobs", digest.Algorithm, digest.Hex)
}

func (c *Cache) keyPath(key string) string { return filepath.Join(c.Dir, "keys", key+".json") }

// lookup returns the cached layer for key, or nil when there is none (or it is damaged).
func (c *Cache) lookup(key string) *blobLayer {
	data, err := os.ReadFile(c.keyPath(key))
	if err != nil {
		return nil
	}
	var e cacheEntry
	if json.Unmarshal(data, &e) != nil {
		return nil
	}
	digest, err1 := v1.NewHash(e.Digest)
	diffID, err2 := v1.NewHash(e.DiffID)
	if err1 != nil || err2 != nil {
		return nil
	}
	if fi, err := os.Stat(c.blobPath(digest)); err != nil || fi.Size() != e.Size {
		return nil
	}
	return c.layer(digest, diffID, e.Size, e.MediaType)
}

func (c *Cache) layer(digest, diffID v1.Hash, size int64, mt string) *blobLayer {
	p := c.blobPath(digest)
	return &blobLayer{digest: digest, diffID: diffID, size: size, mediaType: types.MediaType(mt),
		open: func() (io.ReadCloser, error) {
			f, err := os.Open(p)
			if err != nil {
				return nil, fmt.Errorf("open cached layer %s: %w (remove the cache directory %s)", digest, err, c.Dir)
			}
			return f, nil
		}}
}

// getOrBuild returns the cached layer for key or writes it into the cache (temp name + rename).
func (c *Cache) getOrBuild(key string, write func(io.Writer) error, opts Options) (v1.Layer, error) {
	if l := c.lookup(key); l != nil && l.mediaType == opts.mediaType() {
		return l, nil
	}
	tmp, err := os.CreateTemp(filepath.Join(c.Dir, "blobs", "sha256"), ".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("write layer cache: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	bw := newBuffer(tmp)
	defer putBuffer(bw)
	res, err := writeLayer(bw, write, opts)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if err := os.Rename(tmp.Name(), c.blobPath(res.digest)); err != nil {
		return nil, fmt.Errorf("write layer cache: %w", err)
	}
	entry, _ := json.Marshal(cacheEntry{Digest: res.digest.String(), DiffID: res.diffID.String(),
		Size: res.size, MediaType: string(opts.mediaType())})
	if err := writeFileAtomic(c.keyPath(key), entry); err != nil {
		return nil, fmt.Errorf("write layer cache: %w", err)
	}
	return c.layer(res.digest, res.diffID, res.size, string(opts.mediaType())), nil
}

func writeFileAtomic(name string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, strings.Compare)
	return out
}

// Package layer turns store paths into deterministic, compressed image layers (ggcr v1.Layer):
// each layer is tarred once and hashed while written, spilled to disk, and cached by content.
package layer

import (
	"bufio"
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"runtime"
	"slices"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/layering"
)

// Compression names.
const (
	Gzip = "gzip"
	Zstd = "zstd"
)

// DefaultEpochUnix is the mtime (seconds since 1970) of every entry when SOURCE_DATE_EPOCH is
// not set.
const DefaultEpochUnix = 1

// Options control how layers are written. The zero value means gzip at BestSpeed (as ggcr
// and crane do), mtime DefaultEpochUnix, no cache.
type Options struct {
	// Epoch is the mtime of every tar entry (SOURCE_DATE_EPOCH); zero means DefaultEpochUnix.
	Epoch time.Time
	// Compression is "gzip" (default) or "zstd".
	Compression string
	// Level is the compression level (gzip 1..9, zstd 1..22); 0 is gzip 1 or zstd 3.
	Level int
	// Cache reuses layers built before; nil builds every layer (spilled to TempDir).
	Cache *Cache
	// NarHashes maps store paths to their NAR hash (closure.Graph.NarHashes()); the cache key
	// needs the hash of every path of a layer, so it is required when Cache is set.
	NarHashes map[string]string
	// TempDir holds the unlinked spill files of uncached layers; "" is os.TempDir().
	TempDir string
	// Shared, when set, remembers the layers written with it, so a layer asked for twice (the
	// same store paths and options, e.g. by two arches of one build) is written once, with or
	// without a Cache. It needs NarHashes too.
	Shared *Shared
}

func (o Options) normalized() (Options, error) {
	if o.Epoch.IsZero() {
		o.Epoch = time.Unix(DefaultEpochUnix, 0)
	}
	o.Epoch = o.Epoch.UTC().Truncate(time.Second)
	switch o.Compression {
	case "", Gzip:
		o.Compression = Gzip
		if o.Level == 0 {
			o.Level = gzip.BestSpeed
		}
		if o.Level < gzip.BestSpeed || o.Level > gzip.BestCompression {
			return o, fmt.Errorf("gzip level %d is out of range: use 1..9", o.Level)
		}
	case Zstd:
		if o.Level == 0 {
			o.Level = 3
		}
		if o.Level < 1 || o.Level > 22 {
			return o, fmt.Errorf("zstd level %d is out of range: use 1..22", o.Level)
		}
	default:
		return o, fmt.Errorf("unknown compression %q: use gzip or zstd", o.Compression)
	}
	return o, nil
}

func (o Options) mediaType() types.MediaType {
	if o.Compression == Zstd {
		return types.OCILayerZStd
	}
	return types.OCILayer
}

// FromStorePaths writes one layer holding the given store paths (with /nix and /nix/store).
func FromStorePaths(ctx context.Context, paths []string, opts Options) (v1.Layer, error) {
	opts, err := opts.normalized()
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("a store layer needs at least one store path")
	}
	paths = slices.Sorted(slices.Values(paths))
	if len(slices.Compact(slices.Clone(paths))) != len(paths) {
		return nil, fmt.Errorf("a store path is listed twice in one layer")
	}
	write := func(w io.Writer) error { return writeStoreTar(ctx, w, paths, opts.Epoch) }
	if opts.Cache == nil && opts.Shared == nil {
		return spill(write, opts)
	}
	key, err := cacheKey(paths, opts)
	if err != nil {
		return nil, err
	}
	build := func() (v1.Layer, error) {
		if opts.Cache == nil {
			return spill(write, opts)
		}
		return opts.Cache.getOrBuild(key, write, opts)
	}
	if opts.Shared == nil {
		return build()
	}
	return opts.Shared.do(key, build)
}

// Shared remembers the layers written in one build by cache key: the first caller writes a
// layer, later callers (or concurrent ones, which wait) get the same layer. A failed write is
// not remembered. The zero value is ready to use.
type Shared struct {
	mu sync.Mutex
	m  map[string]*sharedLayer
}

type sharedLayer struct {
	done  chan struct{}
	layer v1.Layer
	err   error
}

func (s *Shared) do(key string, build func() (v1.Layer, error)) (v1.Layer, error) {
	s.mu.Lock()
	if s.m == nil {
		s.m = map[string]*sharedLayer{}
	}
	if e, ok := s.m[key]; ok {
		s.mu.Unlock()
		<-e.done
		if e.err == nil {
			return e.layer, nil
		}
		return build()
	}
	e := &sharedLayer{done: make(chan struct{})}
	s.m[key] = e
	s.mu.Unlock()
	e.layer, e.err = build()
	if e.err != nil {
		s.mu.Lock()
		delete(s.m, key)
		s.mu.Unlock()
	}
	close(e.done)
	return e.layer, e.err
}

// Written is how many layers s holds.
func (s *Shared) Written() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// BuildAll writes the layers of a plan in parallel (at most GOMAXPROCS at a time, biggest
// first); each layer is written by one goroutine, so its bytes equal a sequential build.
// done, when not nil, is called once per finished layer (for progress). It is the one layer
// builder: production (build.Build) and the tests both use it.
func BuildAll(ctx context.Context, plan layering.Plan, opts Options, done func()) ([]v1.Layer, error) {
	out := make([]v1.Layer, len(plan.Layers))
	order := make([]int, len(plan.Layers))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return cmp.Compare(plan.Layers[b].NarSize, plan.Layers[a].NarSize)
	})
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	errs := make([]error, len(plan.Layers))
	for _, i := range order {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			l, err := FromStorePaths(ctx, plan.Layers[i].Paths, opts)
			if err != nil {
				errs[i] = fmt.Errorf("layer %d of %d: %w", i+1, len(plan.Layers), err)
				cancel()
				return
			}
			out[i] = l
			if done != nil {
				done()
			}
		}()
	}
	wg.Wait()
	// The first real failure, not the cancellations it caused in the other layers.
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("build layers: %w", err)
	}
	return out, nil
}

// blobLayer is a layer whose compressed bytes are on disk and whose hashes are known.
type blobLayer struct {
	digest, diffID v1.Hash
	size           int64
	mediaType      types.MediaType
	open           func() (io.ReadCloser, error)
}

func (l *blobLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *blobLayer) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l *blobLayer) Size() (int64, error)                { return l.size, nil }
func (l *blobLayer) MediaType() (types.MediaType, error) { return l.mediaType, nil }
func (l *blobLayer) Compressed() (io.ReadCloser, error)  { return l.open() }

func (l *blobLayer) Uncompressed() (io.ReadCloser, error) {
	rc, err := l.open()
	if err != nil {
		return nil, err
	}
	if l.mediaType == types.OCILayerZStd {
		zr, err := zstd.NewReader(rc, zstd.WithDecoderConcurrency(1))
		if err != nil {
			rc.Close()
			return nil, fmt.Errorf("open zstd layer %s: %w", l.digest, err)
		}
		return closers{Reader: zr, close: func() error { zr.Close(); return rc.Close() }}, nil
	}
	gr, err := gzip.NewReader(rc)
	if err != nil {
		rc.Close()
		return nil, fmt.Errorf("open gzip layer %s: %w", l.digest, err)
	}
	return closers{Reader: gr, close: func() error { return errors.Join(gr.Close(), rc.Close()) }}, nil
}

type closers struct {
	io.Reader
	close func() error
}

func (c closers) Close() error { return c.close() }

// written is the result of writing a layer: its hashes and compressed size.
type written struct {
	digest, diffID v1.Hash
	size           int64
}

// writeLayer runs the tar writer once: the uncompressed stream is hashed (diffID) and
// compressed; the compressed stream is hashed (digest), counted and written to dst.
func writeLayer(dst io.Writer, write func(io.Writer) error, opts Options) (written, error) {
	digestH := sha256.New()
	cw := &countingWriter{w: io.MultiWriter(dst, digestH)}
	var comp io.WriteCloser
	switch opts.Compression {
	case Zstd:
		zw, err := zstd.NewWriter(cw, zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(opts.Level)),
			zstd.WithEncoderConcurrency(1), zstd.WithZeroFrames(true))
		if err != nil {
			return written{}, fmt.Errorf("start zstd: %w", err)
		}
		comp = zw
	default:
		gw, err := newGzip(cw, opts.Level)
		if err != nil {
			return written{}, fmt.Errorf("start gzip: %w", err)
		}
		defer putGzip(gw, opts.Level)
		comp = gw
	}
	diffH := sha256.New()
	bw := newBuffer(io.MultiWriter(comp, diffH))
	defer putBuffer(bw)
	if err := write(bw); err != nil {
		return written{}, err
	}
	if err := bw.Flush(); err != nil {
		return written{}, fmt.Errorf("compress layer: %w", err)
	}
	if err := comp.Close(); err != nil {
		return written{}, fmt.Errorf("compress layer: %w", err)
	}
	return written{digest: hashOf(digestH), diffID: hashOf(diffH), size: cw.n}, nil
}

func hashOf(h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", h.Sum(nil))}
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// spill writes a layer into an unlinked temporary file: nothing is left behind when the
// process ends, and readers share the open file through ReadAt.
func spill(write func(io.Writer) error, opts Options) (v1.Layer, error) {
	f, err := os.CreateTemp(opts.TempDir, "imagegen-layer-*")
	if err != nil {
		return nil, fmt.Errorf("create layer spill file: %w", err)
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, fmt.Errorf("unlink layer spill file: %w", err)
	}
	bw := newBuffer(f)
	defer putBuffer(bw)
	res, err := writeLayer(bw, write, opts)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return &blobLayer{digest: res.digest, diffID: res.diffID, size: res.size, mediaType: opts.mediaType(),
		open: func() (io.ReadCloser, error) {
			return io.NopCloser(io.NewSectionReader(f, 0, res.size)), nil
		}}, nil
}

// Buffers and gzip writers are reused across layers: new ones for each of a closure's ~100
// layers would allocate (and the kernel zero) some 300 MB per build. A reset gzip writer
// writes the same bytes as a new one.
var (
	buffers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 1<<20) }}
	gzips   [gzip.BestCompression + 1]sync.Pool
)

func newBuffer(w io.Writer) *bufio.Writer {
	b := buffers.Get().(*bufio.Writer)
	b.Reset(w)
	return b
}

func putBuffer(b *bufio.Writer) {
	b.Reset(nil)
	buffers.Put(b)
}

func newGzip(w io.Writer, level int) (*gzip.Writer, error) {
	if level < gzip.BestSpeed || level > gzip.BestCompression {
		return gzip.NewWriterLevel(w, level) // the error
	}
	if g, ok := gzips[level].Get().(*gzip.Writer); ok {
		g.Reset(w)
		return g, nil
	}
	return gzip.NewWriterLevel(w, level)
}

func putGzip(g *gzip.Writer, level int) {
	g.Reset(nil)
	gzips[level].Put(g)
}

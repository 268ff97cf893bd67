package layer

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/layering"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

// BenchmarkImagegenFFmpeg is issue 4's "done when" 6, on the FFmpeg closure fixture (239 MiB,
// 215 paths), in one run (make bench-imagegen; -benchtime 1x):
//
//	full     imagegen: plan + every layer (tar, sha256 ×2, gzip) + customisation, empty cache
//	rebuild  the same after the root changed (one new store path), with that cache
//	crane    crane append of the same tree, as one tar, onto an empty base (tar not timed)
//	bound    this machine's tar | tee >(sha256sum) | gzip -1 | sha256sum of the same tree
//	stream   the same work as one Go stream (archive/tar, sha256 ×2, klauspost gzip L1)
//
// and reports full/bound as a throughput ratio (goal ≥ 0.8), rebuild/full as a time ratio
// (goal ≤ 0.1), and (issue 8's "done when" 4) the cold build's throughput against the Go floor,
// stream/full (goal ≥ 0.90). full and stream run three times each, alternately, and the fastest
// of each counts: the machine is shared, and the fastest run is the least disturbed one. Page
// caches are warm for all.
func BenchmarkImagegenFFmpeg(b *testing.B) {
	root := ffmpegRoot(b)
	variant := variantRoot(b, root, "a")
	crane := testenv.RequireBinary(b, "crane")
	bash := testenv.RequireBinary(b, "bash")
	g := graphOf(b, root)
	gv := graphOf(b, variant)
	var rel []string
	for _, p := range g.SortedPaths() {
		rel = append(rel, strings.TrimPrefix(p, "/"))
	}
	tmp := b.TempDir()
	treeTar := filepath.Join(tmp, "tree.tar")
	out, err := exec.Command("tar", append([]string{"-C", "/", "-cf", treeTar}, rel...)...).CombinedOutput()
	require.NoError(b, err, "tar: %s", out)
	// Flush the tarball to disk now, so its write-back does not slow the timed builds.
	f, err := os.Open(treeTar)
	require.NoError(b, err)
	require.NoError(b, f.Sync())
	require.NoError(b, f.Close())

	// buildAs builds the image's layers with a compression and returns their compressed size.
	buildAs := func(cache *Cache, root, compression string) (size int64) {
		gr := g
		if root == variant {
			gr = gv
		}
		plan, err := layering.New(gr, layering.DefaultMaxLayers)
		require.NoError(b, err)
		ls, err := BuildAll(context.Background(), plan, Options{Cache: cache, NarHashes: gr.NarHashes(), Compression: compression}, nil)
		require.NoError(b, err)
		_, err = Customisation{Symlinks: map[string]string{"/bin/ffmpeg": root + "/bin/ffmpeg"}}.Layer(Options{Compression: compression})
		require.NoError(b, err)
		for _, l := range ls {
			n, err := l.Size()
			require.NoError(b, err)
			size += n
		}
		return size
	}
	build := func(cache *Cache, root string) { buildAs(cache, root, Gzip) }
	timed := func(f func()) time.Duration {
		start := time.Now()
		f()
		return time.Since(start)
	}
	b.ResetTimer()
	// The same work as one stream in Go (one tar, sha256 of both streams, klauspost gzip L1):
	// what imagegen would cost without layers and parallelism.
	stream := func() {
		_, err := writeLayer(io.Discard, func(w io.Writer) error {
			return writeStoreTar(context.Background(), w, g.SortedPaths(), time.Unix(DefaultEpochUnix, 0))
		}, Options{Compression: Gzip, Level: 1})
		require.NoError(b, err)
	}
	for i := 0; i < b.N; i++ {
		var cache *Cache
		full, oneStream := time.Duration(math.MaxInt64), time.Duration(math.MaxInt64)
		for j := range 3 {
			c, err := NewCache(filepath.Join(tmp, fmt.Sprintf("cache-%d-%d", i, j)))
			require.NoError(b, err)
			full = min(full, timed(func() { build(c, root) }))
			oneStream = min(oneStream, timed(stream))
			cache = c
		}
		rebuild := timed(func() { build(cache, variant) })
		// --compression zstd (level 3) against the default gzip L1: cold builds, and the bytes.
		var gzipSize, zstdSize int64
		zc, err := NewCache(filepath.Join(tmp, fmt.Sprintf("zstd-%d", i)))
		require.NoError(b, err)
		zstdT := timed(func() { zstdSize = buildAs(zc, root, Zstd) })
		gzipSize = buildAs(cache, root, Gzip) // cached: only the sizes
		craneT := timed(func() {
			out, err := exec.Command(crane, "append", "--oci-empty-base", "-f", treeTar, "-t", "bench:latest",
				"-o", filepath.Join(tmp, fmt.Sprintf("crane-%d.tar", i))).CombinedOutput()
			require.NoError(b, err, "crane append: %s", out)
		})
		script := `tar -C / -cf - "$@" | tee >(sha256sum >/dev/null) | gzip -1 | sha256sum >/dev/null`
		bound := timed(func() {
			out, err := exec.Command(bash, append([]string{"-c", script, "bound"}, rel...)...).CombinedOutput()
			require.NoError(b, err, "bound: %s", out)
		})
		mb := float64(g.NarSize()) / 1e6
		b.Logf("FFmpeg closure %.0f MB, %d paths, %d layers:", mb, len(g.Paths), layering.DefaultMaxLayers+1)
		for _, r := range []struct {
			name string
			d    time.Duration
		}{{"imagegen cold build, fastest of 3", full}, {"imagegen rebuild (root changed, cache)", rebuild},
			{"crane append, one layer", craneT}, {"tar+sha256+gzip -1 bound", bound},
			{"Go floor: one stream, fastest of 3", oneStream}} {
			b.Logf("  %-40s %7.2f s  %6.0f MB/s", r.name, r.d.Seconds(), mb/r.d.Seconds())
		}
		b.Logf("  full/bound throughput %.2f (goal >= 0.80), rebuild/full %.3f (goal <= 0.10), crane/full time %.2f",
			bound.Seconds()/full.Seconds(), rebuild.Seconds()/full.Seconds(), craneT.Seconds()/full.Seconds())
		b.Logf("  cold build/Go floor throughput %.2f (goal >= 0.90)", oneStream.Seconds()/full.Seconds())
		b.Logf("  --compression zstd: cold build %.2f s, one run (gzip, fastest of 3: %.2f s; time ratio %.2f), %d bytes against gzip's %d (size ratio %.2f)",
			zstdT.Seconds(), full.Seconds(), zstdT.Seconds()/full.Seconds(), zstdSize, gzipSize, float64(zstdSize)/float64(gzipSize))
		b.ReportMetric(zstdT.Seconds()/full.Seconds(), "zstd/gzip-time")
		b.ReportMetric(float64(zstdSize)/float64(gzipSize), "zstd/gzip-size")
		b.ReportMetric(bound.Seconds()/full.Seconds(), "full/bound")
		b.ReportMetric(rebuild.Seconds()/full.Seconds(), "rebuild/full")
		b.ReportMetric(craneT.Seconds()/full.Seconds(), "crane/full")
		b.ReportMetric(oneStream.Seconds()/full.Seconds(), "onestream/full")
	}
}

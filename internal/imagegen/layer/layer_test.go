package layer

import (
	"archive/tar"
	"context"
	"debug/buildinfo"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/layering"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

const long = "a-directory-name-long-enough-that-the-whole-tar-name-exceeds-one-hundred-characters"

// TestStoreLayerFormat reads back a layer of a real store path holding every kind of entry.
func TestStoreLayerFormat(t *testing.T) {
	tree := nixBuild(t, "tree")
	dep := nixBuild(t, "dep")
	file := nixBuild(t, "file")
	link := nixBuild(t, "link")
	epoch := time.Unix(1700000000, 0)
	l, err := FromStorePaths(context.Background(), []string{tree, dep, file, link}, Options{Epoch: epoch})
	require.NoError(t, err)
	mt, err := l.MediaType()
	require.NoError(t, err)
	assert.Equal(t, types.OCILayer, mt)

	entries := readLayer(t, l)
	var names []string
	byName := map[string]tarEntryT{}
	for _, e := range entries {
		h := e.hdr
		names = append(names, h.Name)
		byName[h.Name] = e
		assert.Zero(t, h.Uid, h.Name)
		assert.Zero(t, h.Gid, h.Name)
		assert.Empty(t, h.Uname, h.Name)
		assert.Empty(t, h.Gname, h.Name)
		assert.True(t, h.ModTime.Equal(epoch), "%s mtime %s", h.Name, h.ModTime)
		assert.Empty(t, h.PAXRecords, h.Name)
		assert.Empty(t, h.Xattrs, h.Name) //nolint:staticcheck // checking that none are written
		assert.True(t, h.AccessTime.IsZero() && h.ChangeTime.IsZero(), h.Name)
		assert.Equal(t, tar.FormatGNU, h.Format, h.Name)
	}
	treeName := strings.TrimPrefix(tree, "/")
	depName := strings.TrimPrefix(dep, "/")
	require.GreaterOrEqual(t, len(names), 4)
	assert.Equal(t, []string{"nix/", "nix/store/"}, names[:2], "parents first")
	mode := func(name string) int64 { return byName[name].hdr.Mode }
	assert.EqualValues(t, 0o755, mode("nix/"))
	assert.EqualValues(t, 0o755, mode("nix/store/"))
	assert.EqualValues(t, 0o555, mode(treeName+"/"))
	assert.EqualValues(t, 0o555, mode(treeName+"/empty/"), "empty directories are kept")
	assert.EqualValues(t, 0o555, mode(treeName+"/bin/app"))
	assert.EqualValues(t, 0o444, mode(treeName+"/share/doc/README"))
	assert.EqualValues(t, tar.TypeSymlink, byName[treeName+"/bin/readme"].hdr.Typeflag)
	assert.Equal(t, "../share/doc/README", byName[treeName+"/bin/readme"].hdr.Linkname)
	assert.Equal(t, dep+"/lib/dep.txt", byName[treeName+"/share/dep"].hdr.Linkname)
	// A hard link (NAR has none) is a regular file with the same bytes.
	hl := byName[treeName+"/share/doc/README.hardlink"]
	assert.EqualValues(t, tar.TypeReg, hl.hdr.Typeflag)
	assert.Equal(t, "readme\n", string(hl.data))
	deep := treeName + "/" + long + "/" + long + "/file"
	require.Contains(t, byName, deep, "long names survive")
	assert.Equal(t, "deep\n", string(byName[deep].data))
	assert.Contains(t, byName, depName+"/lib/dep.txt")
	// Single-file and symlink store paths.
	f := byName[strings.TrimPrefix(file, "/")]
	assert.EqualValues(t, tar.TypeReg, f.hdr.Typeflag)
	assert.EqualValues(t, 0o444, f.hdr.Mode)
	assert.Equal(t, "file\n", string(f.data))
	ln := byName[strings.TrimPrefix(link, "/")]
	assert.EqualValues(t, tar.TypeSymlink, ln.hdr.Typeflag)
	assert.Equal(t, dep+"/lib", ln.hdr.Linkname)

	// Sorted: store paths in order, each walked with names sorted per directory.
	first := map[string]int{}
	for i, n := range names {
		parts := strings.SplitN(n, "/", 4)
		if len(parts) >= 3 && parts[2] != "" {
			if _, ok := first[parts[2]]; !ok {
				first[parts[2]] = i
			}
		}
		if d := path.Dir(strings.TrimSuffix(n, "/")); d != "." {
			require.Contains(t, byName, d+"/", "parent of %s comes first", n)
		}
	}
	assert.Equal(t, dep < tree, first[path.Base(dep)] < first[path.Base(tree)])
}

func TestDeterminism(t *testing.T) {
	tree := nixBuild(t, "tree")
	dep := nixBuild(t, "dep")
	paths := []string{tree, dep}
	type result struct{ digest, diffID v1.Hash }
	build := func(opts Options) result {
		l, err := FromStorePaths(context.Background(), paths, opts)
		require.NoError(t, err)
		d, _ := l.Digest()
		di, _ := l.DiffID()
		readLayer(t, l)
		return result{d, di}
	}
	base := build(Options{})
	tests := []struct {
		name                 string
		opts                 Options
		sameDigest, sameDiff bool
	}{
		{"same input again", Options{}, true, true},
		{"explicit defaults", Options{Epoch: time.Unix(DefaultEpochUnix, 0), Compression: Gzip, Level: 1}, true, true},
		{"paths in another order", Options{}, true, true},
		{"another epoch", Options{Epoch: time.Unix(2, 0)}, false, false},
		{"gzip level 9", Options{Level: 9}, false, true},
		{"zstd", Options{Compression: Zstd}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "paths in another order" {
				paths = []string{dep, tree}
				defer func() { paths = []string{tree, dep} }()
			}
			got := build(tt.opts)
			assert.Equal(t, tt.sameDigest, got.digest == base.digest, "digest")
			assert.Equal(t, tt.sameDiff, got.diffID == base.diffID, "diffID")
		})
	}
	z1, z2 := build(Options{Compression: Zstd, Level: 7}), build(Options{Compression: Zstd, Level: 7})
	assert.Equal(t, z1, z2, "zstd is deterministic too")
}

func TestBuildAllMatchesSequential(t *testing.T) {
	tree := nixBuild(t, "tree")
	g := graphOf(t, tree)
	plan, err := layering.New(g, 100)
	require.NoError(t, err)
	require.Len(t, plan.Layers, 2)
	all, err := BuildAll(context.Background(), plan, Options{}, nil)
	require.NoError(t, err)
	var seq []v1.Layer
	for _, l := range plan.Layers {
		one, err := FromStorePaths(context.Background(), l.Paths, Options{})
		require.NoError(t, err)
		seq = append(seq, one)
	}
	assert.Equal(t, digests(t, seq), digests(t, all))
}

func TestCache(t *testing.T) {
	tree := nixBuild(t, "tree")
	g := graphOf(t, tree)
	plan, err := layering.New(g, 100)
	require.NoError(t, err)
	cache, err := NewCache(t.TempDir())
	require.NoError(t, err)
	opts := Options{Cache: cache, NarHashes: g.NarHashes()}
	first, err := BuildAll(context.Background(), plan, opts, nil)
	require.NoError(t, err)
	uncached, err := BuildAll(context.Background(), plan, Options{}, nil)
	require.NoError(t, err)
	assert.Equal(t, digests(t, uncached), digests(t, first), "cached layers are the same bytes")

	// A cancelled context stops any store read: only cache hits can succeed.
	done, cancel := context.WithCancel(context.Background())
	cancel()
	for i, pl := range plan.Layers {
		hit, err := FromStorePaths(done, pl.Paths, opts)
		require.NoError(t, err, "a cache hit reads no store path")
		readLayer(t, hit)
		assert.Equal(t, digests(t, first)[i], digests(t, []v1.Layer{hit})[0])
	}
	_, err = BuildAll(done, plan, opts, nil)
	require.ErrorIs(t, err, context.Canceled)

	// Another NAR hash is another key: the layer is rebuilt (and the store read).
	changed := g.NarHashes()
	changed[tree] = "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	_, err = FromStorePaths(done, []string{tree}, Options{Cache: cache, NarHashes: changed})
	require.ErrorIs(t, err, context.Canceled)
	// Another epoch or compression is another key too.
	_, err = FromStorePaths(done, []string{tree}, Options{Cache: cache, NarHashes: g.NarHashes(), Compression: Zstd})
	require.ErrorIs(t, err, context.Canceled)

	_, err = FromStorePaths(context.Background(), []string{tree}, Options{Cache: cache})
	require.ErrorContains(t, err, "layer cache needs the NAR hash of "+tree)
	_, err = NewCache("")
	require.Error(t, err)
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	fifo := dir + "/fifo"
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))
	tests := []struct {
		name  string
		paths []string
		opts  Options
		err   string
	}{
		{"missing path", []string{"/nix/store/00000000000000000000000000000000-missing"}, Options{}, "read store path /nix/store/00000000000000000000000000000000-missing"},
		{"special file", []string{dir}, Options{}, "may hold only files, directories and symlinks"},
		{"relative path", []string{"nix/store/x"}, Options{}, "not a clean absolute store path"},
		{"no paths", nil, Options{}, "at least one store path"},
		{"twice", []string{dir, dir}, Options{}, "listed twice"},
		{"unknown compression", []string{dir}, Options{Compression: "lz4"}, `unknown compression "lz4"`},
		{"gzip level", []string{dir}, Options{Level: 10}, "gzip level 10 is out of range"},
		{"zstd level", []string{dir}, Options{Compression: Zstd, Level: 23}, "zstd level 23 is out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := FromStorePaths(context.Background(), tt.paths, tt.opts)
			require.ErrorContains(t, err, tt.err)
			assert.NotContains(t, err.Error(), "\n")
		})
	}
	// One bad layer among good ones: one line naming that layer, not the cancelled others.
	tree := nixBuild(t, "tree")
	dep := nixBuild(t, "dep")
	plan := layering.Plan{Layers: []layering.Layer{{Paths: []string{dep}}, {Paths: []string{dir}}, {Paths: []string{tree}}}}
	_, err := BuildAll(context.Background(), plan, Options{}, nil)
	require.ErrorContains(t, err, "layer 2 of 3")
	require.ErrorContains(t, err, "may hold only files")
	assert.NotContains(t, err.Error(), "\n")
}

// TestCacheKeyNamesCompressor: the cache key covers the compressor's module version (read from
// the build information of the imagegen binary, which must be the one go.mod pins), the level
// and the tar format.
func TestCacheKeyNamesCompressor(t *testing.T) {
	gomod, err := os.ReadFile("../../../go.mod")
	require.NoError(t, err)
	var pinned string
	for _, line := range strings.Split(string(gomod), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == compressorModule {
			pinned = f[1]
		}
	}
	require.NotEmpty(t, pinned, "go.mod requires %s", compressorModule)
	// A test binary has no module list: read the one of the real imagegen binary.
	goBin := testenv.RequireBinary(t, "go")
	bin := filepath.Join(t.TempDir(), "imagegen")
	out, err := exec.Command(goBin, "build", "-o", bin, "../../../cmd/imagegen").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	bi, err := buildinfo.ReadFile(bin)
	require.NoError(t, err)
	assert.Equal(t, pinned, moduleVersion(bi, compressorModule))
	assert.Equal(t, "unknown", moduleVersion(&debug.BuildInfo{}, compressorModule))

	opts, err := Options{}.normalized()
	require.NoError(t, err)
	h := keyHeader(opts)
	assert.Contains(t, h, "compressor="+compressorModule+"@"+compressorVersion())
	assert.Contains(t, h, "level=1")
	assert.Contains(t, h, "tar=gnu")
	assert.Contains(t, h, "compression=gzip")
	opts.Level = 2
	assert.NotEqual(t, h, keyHeader(opts), "the level is in the key")
}

// TestShared: a layer asked for twice with one Shared is written once, with or without a cache
// (asked again with a cancelled context, it reads no store path), and concurrent callers
// of one key wait for the first.
func TestShared(t *testing.T) {
	tree := nixBuild(t, "tree")
	g := graphOf(t, tree)
	plan, err := layering.New(g, 100)
	require.NoError(t, err)
	cache, err := NewCache(t.TempDir())
	require.NoError(t, err)
	for name, c := range map[string]*Cache{"no cache": nil, "cache": cache} {
		t.Run(name, func(t *testing.T) {
			opts := Options{Cache: c, NarHashes: g.NarHashes(), Shared: &Shared{}}
			first, err := BuildAll(context.Background(), plan, opts, nil)
			require.NoError(t, err)
			require.Equal(t, len(plan.Layers), opts.Shared.Written())
			done, cancel := context.WithCancel(context.Background())
			cancel()
			for i, pl := range plan.Layers {
				again, err := FromStorePaths(done, pl.Paths, opts)
				require.NoError(t, err, "the layer comes from Shared")
				assert.Equal(t, digests(t, first)[i], digests(t, []v1.Layer{again})[0])
				readLayer(t, again)
			}
			// Without it, the same request reads the store (and fails on the cancelled context).
			_, err = FromStorePaths(done, plan.Layers[0].Paths, Options{NarHashes: g.NarHashes(), Shared: &Shared{}})
			require.ErrorIs(t, err, context.Canceled)
			_, err = FromStorePaths(context.Background(), []string{tree}, Options{Shared: &Shared{}})
			require.ErrorContains(t, err, "needs the NAR hash")
		})
	}

	var s Shared
	var calls atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.do("k", func() (v1.Layer, error) { calls.Add(1); <-release; return nil, nil })
			assert.NoError(t, err)
		}()
	}
	close(release)
	wg.Wait()
	assert.Equal(t, int32(1), calls.Load(), "one write for four callers")
	_, err = s.do("bad", func() (v1.Layer, error) { return nil, context.Canceled })
	require.Error(t, err)
	_, err = s.do("bad", func() (v1.Layer, error) { calls.Add(1); return nil, nil })
	require.NoError(t, err, "a failed write is not remembered")
}

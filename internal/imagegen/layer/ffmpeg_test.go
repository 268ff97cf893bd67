package layer

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/closure"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/layering"
)

// image is what a test image is made of: the closure layers and the customisation layer.
type image struct {
	graph  *closure.Graph
	plan   layering.Plan
	layers []v1.Layer // closure layers, then customisation
}

func buildImage(t testing.TB, root string, cache *Cache) image {
	t.Helper()
	g := graphOf(t, root)
	plan, err := layering.New(g, layering.DefaultMaxLayers)
	require.NoError(t, err)
	ls, err := BuildAll(context.Background(), plan, Options{Cache: cache, NarHashes: g.NarHashes()}, nil)
	require.NoError(t, err)
	custom, err := Customisation{Symlinks: map[string]string{"/bin/ffmpeg": root + "/bin/ffmpeg"}}.Layer(Options{})
	require.NoError(t, err)
	return image{graph: g, plan: plan, layers: append(ls, custom)}
}

// variantRoot copies the fixture's root with one byte appended to one file: a new root path
// with the same references.
func variantRoot(t testing.TB, root, b string) string {
	t.Helper()
	v := nixBuild(t, "variant", "--argstr", "root", root, "--argstr", "byte", b)
	orig, variant := graphOf(t, root), graphOf(t, v)
	require.Equal(t, orig.Paths[root].References, variant.Paths[v].References, "the variant has the same references")
	return v
}

// TestFFmpegRebuild is issue 4's "done when" 4: after the root changes, the layers that differ
// hold no more bytes than the changed paths plus the customisation layer, and the cache
// reuses every other layer.
func TestFFmpegRebuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the 239 MiB FFmpeg closure into layers")
	}
	root := ffmpegRoot(t)
	variant := variantRoot(t, root, "a")
	cacheDir := t.TempDir()
	cache, err := NewCache(cacheDir)
	require.NoError(t, err)

	before := buildImage(t, root, cache)
	blobs := func() int {
		es, err := os.ReadDir(filepath.Join(cacheDir, "blobs", "sha256"))
		require.NoError(t, err)
		return len(es)
	}
	require.Equal(t, len(before.plan.Layers), blobs())
	after := buildImage(t, variant, cache)
	require.Equal(t, len(before.layers), len(after.layers))

	old := map[string]bool{}
	for _, d := range digests(t, before.layers) {
		old[d] = true
	}
	var changedBytes, allBytes int64
	changed := 0
	for _, l := range after.layers {
		d, _ := l.Digest()
		size, _ := l.Size()
		allBytes += size
		if !old[d.String()] {
			changed++
			changedBytes += size
		}
	}
	// The changed paths: those of the new closure that the old one did not have.
	var changedPaths int64
	for p, sp := range after.graph.Paths {
		if _, ok := before.graph.Paths[p]; !ok {
			changedPaths += sp.NarSize
		}
	}
	customSize, _ := after.layers[len(after.layers)-1].Size()
	t.Logf("rebuild: %d of %d layers changed, %d of %d bytes; changed paths %d NAR bytes; customisation layer %d bytes",
		changed, len(after.layers), changedBytes, allBytes, changedPaths, customSize)
	assert.Equal(t, 2, changed, "only the root's layer and the customisation layer (its /bin symlink) changed")
	assert.LessOrEqual(t, changedBytes, changedPaths+customSize)
	assert.Equal(t, len(before.plan.Layers)+1, blobs(), "the cache reused every unchanged layer")
}

// TestFFmpegSharedLayers: two images on the same FFmpeg closure with different roots share
// every layer but the root's.
func TestFFmpegSharedLayers(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the FFmpeg closure into layers")
	}
	root := ffmpegRoot(t)
	cache, err := NewCache(t.TempDir())
	require.NoError(t, err)
	a := buildImage(t, variantRoot(t, root, "a"), cache)
	b := buildImage(t, variantRoot(t, root, "b"), cache)
	da, db := digests(t, a.layers), digests(t, b.layers)
	require.Equal(t, len(da), len(db))
	top := len(a.plan.Layers) - 1
	for i := range da {
		if i >= top { // the root's layer and the customisation layer (its /bin symlink)
			assert.NotEqual(t, da[i], db[i], "the roots differ")
			continue
		}
		assert.Equal(t, da[i], db[i], "layer %d is shared", i)
	}
}

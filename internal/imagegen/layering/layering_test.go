package layering

import (
	"crypto/sha256"
	"fmt"
	"os"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/closure"
)

// ffmpegPaths is the FFmpeg fixture's closure (215 paths) as captured from nix path-info.
func ffmpegPaths(t testing.TB) []*closure.StorePath {
	t.Helper()
	f, err := os.Open("../closure/testdata/pathinfo-ffmpeg-nix2.8.json")
	require.NoError(t, err)
	defer f.Close()
	paths, err := closure.ParsePathInfo(f)
	require.NoError(t, err)
	require.Len(t, paths, 215)
	return paths
}

// storePath makes a valid store path for a synthetic graph.
func storePath(name string) string {
	const nix32 = "0123456789abcdfghijklmnpqrsvwxyz"
	sum := sha256.Sum256([]byte(name))
	h := make([]byte, 32)
	for i := range h {
		h[i] = nix32[sum[i]%32]
	}
	return "/nix/store/" + string(h) + "-" + name
}

// synth builds StorePaths from "name: ref ref" adjacency, sizes 1000 × (position+1).
func synth(edges map[string][]string) []*closure.StorePath {
	var out []*closure.StorePath
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range edges {
			if !yield(k) {
				return
			}
		}
	})
	for i, n := range names {
		sp := &closure.StorePath{Path: storePath(n), NarSize: int64(1000 * (i + 1)),
			NarHash: fmt.Sprintf("sha256-%044d", i)}
		for _, r := range edges[n] {
			sp.References = append(sp.References, storePath(r))
		}
		out = append(out, sp)
	}
	return out
}

func root(paths []*closure.StorePath) string {
	tops := closure.Tops(paths)
	if len(tops) != 1 {
		panic(fmt.Sprintf("want one top, have %v", tops))
	}
	return tops[0]
}

// withApp returns paths plus an app on top that references `on` (a different app per name).
func withApp(paths []*closure.StorePath, name string, on ...string) ([]*closure.StorePath, string) {
	app := &closure.StorePath{Path: storePath(name), NarSize: 4 << 20, NarHash: "sha256-app", References: on}
	return append(slices.Clone(paths), app), app.Path
}

// checkPlan asserts the properties every plan has.
func checkPlan(t *testing.T, g *closure.Graph, p Plan, maxLayers int) {
	t.Helper()
	require.LessOrEqual(t, len(p.Layers), maxLayers, "layer count within the cap")
	require.NotEmpty(t, p.Layers)
	where := map[string]int{}
	for i, l := range p.Layers {
		require.NotEmpty(t, l.Paths, "layer %d is empty", i)
		require.True(t, slices.IsSorted(l.Paths), "layer %d paths sorted", i)
		var size int64
		for _, path := range l.Paths {
			_, dup := where[path]
			require.False(t, dup, "%s is in two layers", path)
			where[path] = i
			size += g.Paths[path].NarSize
		}
		assert.Equal(t, size, l.NarSize, "layer %d NarSize", i)
	}
	require.Len(t, where, len(g.Paths), "every store path is in a layer")

	isRoot := map[string]bool{}
	for _, r := range g.Roots {
		isRoot[r] = true
	}
	nonRoots := len(g.Paths) - len(g.Roots)
	if byComp, ok, err := byComponent(g, maxLayers); ok {
		// Planned by component: each component's layers in turn, bottom → top; a layer
		// references only itself, the layers below it and roots; every root is alone in its
		// layer when its component has room.
		require.NoError(t, err)
		require.Equal(t, byComp, p)
		comps, err := components(g)
		require.NoError(t, err)
		for i, l := range p.Layers {
			for _, path := range l.Paths {
				for _, r := range g.Paths[path].References {
					require.True(t, where[r] <= i || isRoot[r], "layer %d: %s references %s above it", i, path, r)
				}
				if isRoot[path] && maxLayers >= 2*len(comps) {
					require.Len(t, l.Paths, 1, "root %s is alone in its layer", path)
				}
			}
		}
	} else if maxLayers > len(g.Roots) && maxLayers > 1 {
		// Roots alone, on top.
		top := p.Layers[len(p.Layers)-len(g.Roots):]
		for _, l := range top {
			require.Len(t, l.Paths, 1, "a root layer holds only its root")
			require.True(t, isRoot[l.Paths[0]], "the top layers are the roots")
		}
		// The merged layers are the bottom ones; each references only itself, the layers
		// below it and roots; all but the last merged layer hold MergedLayerSize or more.
		below := p.Layers[:len(p.Layers)-len(g.Roots)]
		merged := 0
		for merged < len(below) && len(below[merged].Paths) > 1 {
			merged++
		}
		for i, l := range below {
			if i >= merged {
				require.Len(t, l.Paths, 1, "layer %d: above the merged layers every path is alone", i)
			}
			for _, path := range l.Paths {
				for _, r := range g.Paths[path].References {
					if i < merged {
						require.True(t, where[r] <= i || isRoot[r], "merged layer %d: %s references %s above it", i, path, r)
					}
				}
			}
			if i < merged-1 {
				require.GreaterOrEqual(t, l.NarSize, int64(MergedLayerSize), "merged layer %d is cut at MergedLayerSize", i)
			}
		}
		if nonRoots+len(g.Roots) <= maxLayers {
			require.Len(t, p.Layers, len(g.Paths), "a path per layer when they fit")
		} else if merged > 0 {
			require.Len(t, p.Layers, maxLayers, "the whole budget is used")
		}
	}
	again, err := New(g, maxLayers)
	require.NoError(t, err)
	require.Equal(t, p, again, "deterministic")
}

func TestPlanProperties(t *testing.T) {
	ff := ffmpegPaths(t)
	ffRoot := root(ff)
	withA, appA := withApp(ff, "app-a", ffRoot)
	diamond := synth(map[string][]string{"app": {"x", "y"}, "x": {"libc"}, "y": {"libc", "z"}, "z": {"libc"}, "libc": nil})
	twoRoots := synth(map[string][]string{"app": {"lib", "tool"}, "tool": {"lib"}, "lib": {"libc"}, "libc": nil, "other": {"libc"}})
	graphs := []struct {
		name  string
		roots []string
		paths []*closure.StorePath
	}{
		{"ffmpeg fixture", []string{ffRoot}, ff},
		{"app on ffmpeg", []string{appA}, withA},
		{"app and ffmpeg as roots", []string{appA, ffRoot}, withA},
		{"diamond", []string{storePath("app")}, diamond},
		{"roots referencing roots", []string{storePath("app"), storePath("tool"), storePath("other")}, twoRoots},
	}
	for _, gr := range graphs {
		g, err := closure.New(gr.roots, gr.paths)
		require.NoError(t, err)
		for _, maxLayers := range []int{1, 2, 3, 4, 10, 50, 100, 123} {
			t.Run(fmt.Sprintf("%s/cap=%d", gr.name, maxLayers), func(t *testing.T) {
				p, err := New(g, maxLayers)
				require.NoError(t, err)
				checkPlan(t, g, p, maxLayers)
			})
		}
	}
}

func TestCapOutOfRange(t *testing.T) {
	g, err := closure.New([]string{storePath("a")}, synth(map[string][]string{"a": nil}))
	require.NoError(t, err)
	for _, n := range []int{-1, 0, 124, 125, 1000} {
		_, err := New(g, n)
		require.ErrorContains(t, err, "out of range: use 1..123", "cap %d", n)
	}
	_, err = New(nil, 10)
	require.ErrorContains(t, err, "closure is empty")
}

// TestRootsKeepTheirLayers is issue 4's point against dockerTools: the root is never merged,
// so a new root (same references) changes exactly one layer; the base holds popular paths.
func TestRootsKeepTheirLayers(t *testing.T) {
	ff := ffmpegPaths(t)
	ffRoot := root(ff)
	g, err := closure.New([]string{ffRoot}, ff)
	require.NoError(t, err)
	p, err := New(g, DefaultMaxLayers)
	require.NoError(t, err)
	require.Len(t, p.Layers, DefaultMaxLayers)
	assert.Equal(t, []string{ffRoot}, p.Layers[len(p.Layers)-1].Paths)
	// 214 paths below the root, 98 layers for them: 116 too many. Merged into one layer they
	// would be 79 MB of NAR, so they are cut at MergedLayerSize into two layers, which merges
	// one more path: 118 paths in two layers, 96 paths in a layer each.
	require.Greater(t, len(p.Layers[1].Paths), 1)
	require.Len(t, p.Layers[2].Paths, 1)
	assert.Len(t, append(p.Layers[0].Paths, p.Layers[1].Paths...), 214-(DefaultMaxLayers-1)+2,
		"the merged layers absorb the surplus plus one path per extra merged layer")
	var libc, loader bool
	for _, path := range p.Layers[0].Paths {
		libc = libc || path[44:] == "libc-6"
		loader = loader || path[44:] == "ld-linux-x86-64-2"
	}
	assert.True(t, libc && loader, "the most popular paths (libc, the loader) are merged first")

	// The same FFmpeg with a new root: same references, another path.
	variant := slices.Clone(ff)
	for i, sp := range variant {
		if sp.Path == ffRoot {
			cp := *sp
			cp.Path = storePath("ffmpeg-variant")
			variant[i] = &cp
		}
	}
	g2, err := closure.New([]string{storePath("ffmpeg-variant")}, variant)
	require.NoError(t, err)
	p2, err := New(g2, DefaultMaxLayers)
	require.NoError(t, err)
	require.Equal(t, len(p.Layers), len(p2.Layers))
	changed := 0
	for i := range p.Layers {
		if !slices.Equal(p.Layers[i].Paths, p2.Layers[i].Paths) {
			changed++
			assert.Equal(t, len(p.Layers)-1, i, "only the root layer changes")
		}
	}
	assert.Equal(t, 1, changed)
}

// TestSharedClosure: images that share a closure share its layers.
func TestSharedClosure(t *testing.T) {
	ff := ffmpegPaths(t)
	ffRoot := root(ff)
	layersOf := func(roots []string, paths []*closure.StorePath, maxLayers int) map[string]bool {
		g, err := closure.New(roots, paths)
		require.NoError(t, err)
		p, err := New(g, maxLayers)
		require.NoError(t, err)
		checkPlan(t, g, p, maxLayers)
		out := map[string]bool{}
		for _, l := range p.Layers {
			out[fmt.Sprint(l.Paths)] = true
		}
		return out
	}
	shared := func(a, b map[string]bool) (n int) {
		for k := range a {
			if b[k] {
				n++
			}
		}
		return n
	}
	pathsA, appA := withApp(ff, "swarm-a", ffRoot)
	pathsB, appB := withApp(ff, "swarm-b", ffRoot)

	// Different apps on the same FFmpeg: every layer but the app's is the same.
	a := layersOf([]string{appA}, pathsA, 100)
	b := layersOf([]string{appB}, pathsB, 100)
	assert.Equal(t, 99, shared(a, b))

	// The app and FFmpeg both named as roots, in both images: two components (the app; what
	// FFmpeg reaches), planned apart; every layer but the app's is the same again.
	a = layersOf([]string{appA, ffRoot}, pathsA, 100)
	b = layersOf([]string{appB, ffRoot}, pathsB, 100)
	assert.Len(t, a, 1+int(ComponentShare*100), "the app, and FFmpeg within its share of the budget")
	assert.Equal(t, len(a)-1, shared(a, b))

	// Image B has three more unrelated paths under another root (nginx): a third component,
	// so FFmpeg's layers are all shared still (planned whole, B's merged layers would absorb
	// three more FFmpeg paths and change).
	extra := synth(map[string][]string{"nginx": {"pcre", "libc2"}, "pcre": {"libc2"}, "libc2": nil})
	pathsB = append(pathsB, extra...)
	b = layersOf([]string{appB, ffRoot, storePath("nginx")}, pathsB, 100)
	assert.Len(t, b, len(a)+3)
	assert.Equal(t, len(a)-1, shared(a, b), "all but the app's layer")
	gA, err := closure.New([]string{appA, ffRoot}, pathsA)
	require.NoError(t, err)
	gB, err := closure.New([]string{appB, ffRoot, storePath("nginx")}, pathsB)
	require.NoError(t, err)
	pA, err := New(gA, 100)
	require.NoError(t, err)
	pB, err := New(gB, 100)
	require.NoError(t, err)
	assert.Equal(t, pA.Layers[0], pB.Layers[0], "the bottom merged layer is shared")

	// With room for every path, every layer of the shared part is shared, whatever else the
	// images hold.
	small := synth(map[string][]string{"lib": {"libc"}, "libc": nil, "tool": {"libc"}})
	smallA, sa := withApp(small, "small-a", storePath("lib"))
	smallB, sb := withApp(small, "small-b", storePath("lib"), storePath("tool"))
	smallB = append(smallB, extra...)
	a = layersOf([]string{sa}, slices.DeleteFunc(smallA, func(p *closure.StorePath) bool { return p.Path == storePath("tool") }), 100)
	b = layersOf([]string{sb, storePath("nginx")}, smallB, 100)
	assert.Len(t, a, 3)
	assert.Equal(t, 2, shared(a, b), "lib and libc keep their layers")
}

// BenchmarkNew plans the FFmpeg fixture's closure and a synthetic 5000-path closure (each path
// references up to 8 earlier ones) into 99 layers.
func BenchmarkNew(b *testing.B) {
	ff := ffmpegPaths(b)
	g, err := closure.New([]string{root(ff)}, ff)
	require.NoError(b, err)
	edges := map[string][]string{}
	for i := 0; i < 5000; i++ {
		name := fmt.Sprintf("p%04d", i)
		for j := 1; j <= 8 && i-j*j >= 0; j++ {
			edges[name] = append(edges[name], fmt.Sprintf("p%04d", i-j*j))
		}
		if edges[name] == nil {
			edges[name] = []string{}
		}
	}
	edges["top"] = []string{"p4999", "p4998", "p4997", "p4996", "p4995", "p4994", "p4993", "p4992", "p4991"}
	big := synth(edges)
	gBig, err := closure.New(closure.Tops(big), big)
	require.NoError(b, err)
	for _, tc := range []struct {
		name string
		g    *closure.Graph
	}{{"ffmpeg-215", g}, {"synthetic-5001", gBig}} {
		b.Run(tc.name, func(b *testing.B) {
			for range b.N {
				if _, err := New(tc.g, DefaultMaxLayers); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

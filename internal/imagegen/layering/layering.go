// Package layering splits a Nix closure into at most N image layers so that layers are shared
// between images and a rebuild after the usual change (the app) re-creates as little as possible.
//
// # The idea
//
// A store path never changes: a new build is a new path, and a change to a path changes every
// path that depends on it (its hash is an input of theirs). So in a closure the paths near the
// roots (the app, its wrappers and private libraries) change often, and the paths deep in the
// graph (libc, the loader, zlib) change rarely and, when they do, drag almost everything else
// along anyway. One store path per layer would be ideal for both sharing and rebuilds, but an
// image may hold only so many layers (moby stops at 125), and real closures exceed that.
//
// # The plan
//
//  1. Every root (what the image was asked to contain: the app, FFmpeg) gets its own layer, on
//     top. It is the path most likely to change, so it must not share a layer with anything.
//  2. The other paths get a layer each if they fit in what is left of the budget.
//  3. Otherwise the surplus is merged, bottom-up. Paths are taken in merge order: a path
//     only once everything it references is merged (or is a root), and among those the most
//     popular first (popularity = how many paths of the closure depend on it, directly or not;
//     ties: the smaller, then by name). Every prefix of that order is downward closed: the
//     stable, popular bottom of the graph. The merged paths are cut into layers of
//     MergedLayerSize (64 MiB) of NAR, the last taking the rest; each extra merged layer
//     merges one more path, and the number of merged layers is the smallest that the cut
//     needs. A merged layer changes only when one of its own members (or one in a merged
//     layer below it) changes, never because something above it did, and the paths that
//     only the roots use — the least popular — are the last to be merged.
//  4. Layers are ordered bottom → top: the merged layers in merge order, then the single-path
//     layers with dependencies below their dependents (by closure size, then name), then the
//     roots the same way.
//
// # Compared with dockerTools and nixery
//
// dockerTools' referencesByPopularity sorts paths by popularity, gives the N-1 most popular a
// layer each and merges the rest — which includes the root — into the last layer: on the FFmpeg
// fixture a one-byte change to the app re-creates a 134 MB layer. We invert the merge: popular
// paths merge, the root never does. nixery builds a dominator tree under a virtual image root,
// makes each top-level subtree a layer and merges the subtrees with the lowest size×popularity;
// with a single root (one app) everything hangs under it and becomes one layer. Dominators also
// depend on which other roots reach a path, which defeats sharing between images.
//
// # What holds (tested)
//
//   - The plan has at most maxLayers layers and every store path is in exactly one of them.
//   - A root, and every path that keeps a layer of its own, is alone in its layer: that layer's
//     digest depends on that path only, so it is the same in every image that contains the path.
//   - If two images' closures differ only above a shared subgraph in the same way (e.g. a
//     different app on the same FFmpeg), the shared subgraph gets the same layers in both.
//   - When one image has more paths than another, its merged layers absorb more paths: the top
//     merged layer differs, and the paths it absorbed lose their own layers there. The bottom
//     merged layers (the first 64 MiB of merge order) stay the same as long as the extra paths
//     are not among the most popular; the other single-path layers stay shared.
//   - Changing a root alone changes only that root's layer.
//
// A closure with several roots is first split into components (components.go), each planned
// by these steps within its own budget, so that images which share a component share its
// layers.
//
// The cost of step 3 is that a change to a merged path re-creates its merged layer and the
// ones above it; since such a path is popular, most of the closure above it changes then anyway.
package layering

import (
	"cmp"
	"container/heap"
	"fmt"
	"math/bits"
	"slices"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/closure"
)

// MaxLayers is the most closure layers a plan may have: moby's limit of 125 layers, minus one
// for the customisation layer and one for a layer a derived image (ko, FROM) adds.
const MaxLayers = 123

// DefaultMaxLayers is the default closure layer budget: an image of 100 layers with the
// customisation layer.
const DefaultMaxLayers = 99

// Layer is one image layer: the store paths it holds (sorted) and their total NAR size.
type Layer struct {
	Paths   []string `json:"paths"`
	NarSize int64    `json:"narSize"`
}

// Plan is the list of closure layers, bottom → top (the customisation layer is not part of it).
type Plan struct {
	Layers []Layer
}

// New plans the layers of g within maxLayers (1..MaxLayers) closure layers: each component
// (the paths that the same set of roots reach) is planned on its own, within a budget that
// depends only on maxLayers and its own size (see components.go), so that images which share a
// component share its layers whatever else they hold; when the components do not fit, the
// whole closure is planned at once.
func New(g *closure.Graph, maxLayers int) (Plan, error) {
	if maxLayers < 1 || maxLayers > MaxLayers {
		return Plan{}, fmt.Errorf("max layers %d is out of range: use 1..%d (an image may hold 125 layers; one is for customisation, one for derived images)", maxLayers, MaxLayers)
	}
	if g == nil || len(g.Paths) == 0 {
		return Plan{}, fmt.Errorf("closure is empty: nothing to put into layers")
	}
	if p, ok, err := byComponent(g, maxLayers); ok || err != nil {
		return p, err
	}
	return plan(g, maxLayers)
}

// plan lays out g as one whole within maxLayers layers (steps 1–4 above).
func plan(g *closure.Graph, maxLayers int) (Plan, error) {
	s := newStats(g)
	isRoot := map[string]bool{}
	for _, r := range g.Roots {
		isRoot[r] = true
	}
	var roots, others []string
	for _, p := range s.order {
		if isRoot[p] {
			roots = append(roots, p)
		} else {
			others = append(others, p)
		}
	}
	if maxLayers == 1 {
		return Plan{Layers: []Layer{s.layer(s.order)}}, nil
	}

	// 1. Roots on top, one each; if there are more roots than the budget allows, the last
	//    root layer holds the remaining roots.
	rootBudget := maxLayers
	if len(others) > 0 {
		rootBudget--
	}
	var top []Layer
	for i, r := range roots {
		if i == rootBudget-1 && len(roots) > rootBudget {
			top = append(top, s.layer(roots[i:]))
			break
		}
		top = append(top, s.layer([]string{r}))
	}

	// 2./3. The rest: one layer each, or the most popular paths merged bottom-up.
	budget := maxLayers - len(top)
	var bottom []Layer
	if len(others) <= budget {
		for _, p := range others {
			bottom = append(bottom, s.layer([]string{p}))
		}
		return Plan{Layers: append(bottom, top...)}, nil
	}
	merged := s.mergeLayers(s.mergeOrder(others, isRoot), len(others)-budget, budget)
	inBase := map[string]bool{}
	for _, m := range merged {
		bottom = append(bottom, s.layer(m))
		for _, p := range m {
			inBase[p] = true
		}
	}
	for _, p := range others {
		if !inBase[p] {
			bottom = append(bottom, s.layer([]string{p}))
		}
	}
	return Plan{Layers: append(bottom, top...)}, nil
}

// MergedLayerSize is the NAR size at which the merged base is cut into another layer: a change
// to one of its paths re-creates that layer, not the whole base.
const MergedLayerSize = 64 << 20

// mergeLayers merges the first surplus+m paths of order into m layers, each cut when it holds
// MergedLayerSize of NAR (the last takes the rest). Every merged layer costs one more path its
// own layer, so m is the smallest number for which the cut yields exactly m layers (at most
// budget). Each layer references only itself and the layers before it.
func (s *stats) mergeLayers(order []string, surplus, budget int) [][]string {
	cut := func(paths []string, limit int) [][]string {
		var out [][]string
		var cur []string
		var size int64
		for _, p := range paths {
			cur = append(cur, p)
			size += s.g.Paths[p].NarSize
			if size >= MergedLayerSize && len(out) < limit-1 {
				out, cur, size = append(out, cur), nil, 0
			}
		}
		if len(cur) > 0 {
			out = append(out, cur)
		}
		return out
	}
	m := 1
	for {
		n := len(cut(order[:surplus+m], len(order)))
		if n <= m || m == budget {
			break
		}
		m = min(n, budget)
	}
	return cut(order[:surplus+m], m)
}

// stats holds what the plan is computed from: a topological order and the popularity of each path.
type stats struct {
	g          *closure.Graph
	order      []string       // dependencies before dependents: by closure size, then name
	popularity map[string]int // number of paths that depend on a path, transitively
}

func newStats(g *closure.Graph) *stats {
	paths := g.SortedPaths()
	idx := make(map[string]int, len(paths))
	for i, p := range paths {
		idx[p] = i
	}
	n := len(paths)
	words := (n + 63) / 64
	// Descendant sets (the closure of each path) by memoised DFS, as bitsets.
	down := make([][]uint64, n)
	var visit func(i int) []uint64
	visit = func(i int) []uint64 {
		if down[i] != nil {
			return down[i]
		}
		set := make([]uint64, words)
		set[i/64] |= 1 << (i % 64)
		down[i] = set // a cycle (only a self-reference in a valid store) sees a partial set
		for _, r := range g.Paths[paths[i]].References {
			j := idx[r]
			if j == i {
				continue
			}
			for w, v := range visit(j) {
				set[w] |= v
			}
		}
		return set
	}
	size := make([]int, n)
	popIdx := make([]int, n)
	for i := range paths {
		for _, v := range visit(i) {
			size[i] += bits.OnesCount64(v)
		}
	}
	for i := range paths {
		for w, v := range down[i] {
			for v != 0 {
				b := bits.TrailingZeros64(v)
				v &^= 1 << b
				if j := w*64 + b; j != i {
					popIdx[j]++
				}
			}
		}
	}
	pop := make(map[string]int, n)
	for i, p := range paths {
		pop[p] = popIdx[i]
	}
	order := slices.Clone(paths)
	slices.SortStableFunc(order, func(a, b string) int {
		return cmp.Or(cmp.Compare(size[idx[a]], size[idx[b]]), cmp.Compare(a, b))
	})
	return &stats{g: g, order: order, popularity: pop}
}

// mergeOrder orders others as they are merged: a path only after everything it references
// (roots aside), and among those the most popular first. Every prefix is downward closed.
func (s *stats) mergeOrder(others []string, isRoot map[string]bool) []string {
	placed := map[string]bool{}
	for r := range isRoot {
		placed[r] = true
	}
	waiting := map[string]int{} // unplaced references per path
	users := map[string][]string{}
	ready := &readyHeap{s: s}
	for _, p := range others {
		for _, r := range s.g.Paths[p].References {
			if r == p || placed[r] {
				continue
			}
			waiting[p]++
			users[r] = append(users[r], p)
		}
		if waiting[p] == 0 {
			ready.paths = append(ready.paths, p)
		}
	}
	heap.Init(ready)
	var out []string
	for ready.Len() > 0 {
		best := heap.Pop(ready).(string)
		out = append(out, best)
		placed[best] = true
		for _, u := range users[best] {
			if waiting[u]--; waiting[u] == 0 {
				heap.Push(ready, u)
			}
		}
	}
	return out
}

// readyHeap orders the paths that may join the base: most popular, then smallest, then by name.
type readyHeap struct {
	s     *stats
	paths []string
}

func (h *readyHeap) Len() int      { return len(h.paths) }
func (h *readyHeap) Swap(i, j int) { h.paths[i], h.paths[j] = h.paths[j], h.paths[i] }
func (h *readyHeap) Push(x any)    { h.paths = append(h.paths, x.(string)) }
func (h *readyHeap) Pop() any {
	last := h.paths[len(h.paths)-1]
	h.paths = h.paths[:len(h.paths)-1]
	return last
}
func (h *readyHeap) Less(i, j int) bool {
	a, b := h.paths[i], h.paths[j]
	return cmp.Or(cmp.Compare(h.s.popularity[b], h.s.popularity[a]),
		cmp.Compare(h.s.g.Paths[a].NarSize, h.s.g.Paths[b].NarSize), cmp.Compare(a, b)) < 0
}

func (s *stats) layer(paths []string) Layer {
	l := Layer{Paths: slices.Sorted(slices.Values(paths))}
	for _, p := range paths {
		l.NarSize += s.g.Paths[p].NarSize
	}
	return l
}

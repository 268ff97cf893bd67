package layering

import (
	"cmp"
	"slices"
	"strings"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/closure"
)

// # Components: layers shared between images that share a closure
//
// Planned as one whole, a closure's merged layers depend on everything in it: an image that
// holds FFmpeg and nginx merges more of FFmpeg than one that holds FFmpeg alone, so the two
// share few layers and the second push re-sends most of FFmpeg. So a closure is first split
// into components: the paths reached by the same set of roots (FFmpeg's libraries, reached by
// the FFmpeg root alone; nginx's; the swarm binary's). Each component is planned on its own
// (its tops on top, its popular paths merged) within a budget that depends only on maxLayers
// and its own path count: min(paths, ComponentShare × maxLayers). Two images that both hold a
// component (the same paths, reached by their roots the same way) get the same layers for it.
// When the components' budgets exceed maxLayers they are lowered together (the largest first)
// until they fit, and when even one layer per component does not fit the closure is planned as
// one whole: both lose sharing, never the cap. A closure of one component (one root, or roots
// that reach the same paths) is planned whole with the full budget, as are tiny budgets
// (ComponentShare × maxLayers < 2).
//
// Components are ordered bottom → top by how many roots reach them (more first: a path's
// references are reached by at least the roots that reach it), then by their roots' names.

// ComponentShare is the share of the layer budget a single component may use: the rest is
// room for the components another image adds next to it.
const ComponentShare = 0.75

type component struct {
	key   string // the sorted roots that reach these paths
	roots int
	paths []*closure.StorePath
}

// byComponent plans each component within its own budget; ok is false when the closure is one
// component, the budget is tiny or the components do not fit: the caller plans it whole.
func byComponent(g *closure.Graph, maxLayers int) (Plan, bool, error) {
	comps, err := components(g)
	if err != nil {
		return Plan{}, false, err
	}
	limit := int(ComponentShare * float64(maxLayers))
	if len(comps) < 2 || len(comps) > maxLayers || limit < 2 {
		return Plan{}, false, nil
	}
	budgets := func(limit int) ([]int, int) {
		var b []int
		total := 0
		for _, c := range comps {
			n := min(len(c.paths), limit)
			b = append(b, n)
			total += n
		}
		return b, total
	}
	b, total := budgets(limit)
	for total > maxLayers && limit > 1 {
		limit--
		b, total = budgets(limit)
	}
	if total > maxLayers {
		return Plan{}, false, nil
	}
	var out Plan
	for i, c := range comps {
		sub, err := closure.New(closure.Tops(c.paths), c.paths)
		if err != nil {
			return Plan{}, false, err
		}
		p, err := plan(sub, b[i])
		if err != nil {
			return Plan{}, false, err
		}
		out.Layers = append(out.Layers, p.Layers...)
	}
	return out, true, nil
}

// components splits g by the set of roots that reach each path; each component's paths keep
// only their references within it.
func components(g *closure.Graph) ([]component, error) {
	reach := map[string][]string{}
	for _, r := range slices.Sorted(slices.Values(g.Roots)) {
		reached, err := g.Reachable(r)
		if err != nil {
			return nil, err
		}
		for _, p := range reached {
			reach[p] = append(reach[p], r)
		}
	}
	byKey := map[string]*component{}
	for _, p := range g.SortedPaths() {
		key := strings.Join(reach[p], " ")
		c := byKey[key]
		if c == nil {
			c = &component{key: key, roots: len(reach[p])}
			byKey[key] = c
		}
		c.paths = append(c.paths, &closure.StorePath{Path: p})
	}
	var out []component
	for _, c := range byKey {
		for _, sp := range c.paths {
			orig := g.Paths[sp.Path]
			*sp = *orig
			sp.References = slices.DeleteFunc(slices.Clone(orig.References), func(r string) bool {
				return strings.Join(reach[r], " ") != c.key
			})
		}
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b component) int { return cmp.Or(cmp.Compare(b.roots, a.roots), cmp.Compare(a.key, b.key)) })
	return out, nil
}

// Package closure reads the runtime closure of Nix store paths (what `nix path-info`,
// exportReferencesGraph or closureInfo report) into a validated reference graph.
package closure

import (
	"context"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
)

// DefaultStoreDir is the Nix store directory used when the paths do not say otherwise.
const DefaultStoreDir = "/nix/store"

// StorePath is one store object: its path, NAR hash (SRI form, "sha256-<base64>"), NAR size,
// the store paths it references (possibly itself) and the derivation that built it.
type StorePath struct {
	Path       string
	NarHash    string
	NarSize    int64
	References []string
	Deriver    string
}

// Graph is a closure: every path reachable from Roots by references, keyed by store path.
type Graph struct {
	StoreDir string
	Roots    []string
	Paths    map[string]*StorePath
}

// New validates a closure and returns its graph: every path and reference is a store path
// directly under one store directory, every reference is in the set (the set is closed),
// and every root is present. Duplicates must agree. Errors name the offending path.
func New(roots []string, paths []*StorePath) (*Graph, error) {
	if len(roots) == 0 {
		refs := map[string][]string{}
		for _, p := range paths {
			if p != nil {
				refs[p.Path] = p.References
			}
		}
		if cycle := findCycle(refs); cycle != nil { // every path is referenced: no top
			return nil, cycleError(cycle)
		}
		return nil, fmt.Errorf("closure has no roots: name at least one store path")
	}
	if err := checkStorePath(path.Dir(roots[0]), roots[0]); err != nil {
		return nil, fmt.Errorf("root: %w", err)
	}
	storeDir := path.Dir(roots[0])
	g := &Graph{StoreDir: storeDir, Paths: make(map[string]*StorePath, len(paths))}
	for _, p := range paths {
		if p == nil {
			return nil, fmt.Errorf("closure entry is empty")
		}
		if err := checkStorePath(storeDir, p.Path); err != nil {
			return nil, err
		}
		if old, dup := g.Paths[p.Path]; dup {
			if old.NarHash != p.NarHash || old.NarSize != p.NarSize {
				return nil, fmt.Errorf("store path %s is listed twice with different NAR hash or size", p.Path)
			}
			continue
		}
		if p.NarSize < 0 {
			return nil, fmt.Errorf("store path %s has a negative NAR size %d", p.Path, p.NarSize)
		}
		cp := *p
		cp.References = slices.Clone(p.References)
		slices.Sort(cp.References)
		cp.References = slices.Compact(cp.References)
		g.Paths[p.Path] = &cp
	}
	for _, p := range g.Paths {
		for _, r := range p.References {
			if err := checkStorePath(storeDir, r); err != nil {
				return nil, fmt.Errorf("reference of %s: %w", p.Path, err)
			}
			if _, ok := g.Paths[r]; !ok {
				return nil, fmt.Errorf("closure is not closed: %s references %s, which is missing (list the whole closure: nix path-info --recursive)", p.Path, r)
			}
		}
	}
	refs := make(map[string][]string, len(g.Paths))
	for p, sp := range g.Paths {
		refs[p] = sp.References
	}
	if cycle := findCycle(refs); cycle != nil {
		return nil, cycleError(cycle)
	}
	seen := map[string]bool{}
	for _, r := range roots {
		if err := checkStorePath(storeDir, r); err != nil {
			return nil, fmt.Errorf("root: %w", err)
		}
		if _, ok := g.Paths[r]; !ok {
			return nil, fmt.Errorf("root %s is missing from the closure", r)
		}
		if !seen[r] {
			seen[r] = true
			g.Roots = append(g.Roots, r)
		}
	}
	slices.Sort(g.Roots)
	return g, nil
}

func cycleError(cycle []string) error {
	return fmt.Errorf("closure has a reference cycle %s: a Nix store closure cannot have one (the closure file is corrupt or was edited)",
		strings.Join(cycle, " → "))
}

// findCycle returns a reference cycle (its first path repeated at the end), or nil. A path
// referencing itself is normal (a store path may contain its own path) and no cycle.
func findCycle(refs map[string][]string) []string {
	const (
		unseen = iota
		active
		done
	)
	state := make(map[string]int, len(refs))
	var stack []string
	var found []string
	var visit func(p string) bool
	visit = func(p string) bool {
		state[p] = active
		stack = append(stack, p)
		for _, r := range refs[p] {
			if r == p {
				continue
			}
			switch state[r] {
			case active:
				i := slices.Index(stack, r)
				found = append(slices.Clone(stack[i:]), r)
				return true
			case unseen:
				if visit(r) {
					return true
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[p] = done
		return false
	}
	for _, p := range slices.Sorted(maps.Keys(refs)) {
		if state[p] == unseen && visit(p) {
			return found
		}
	}
	return nil
}

// checkStorePath checks that p is a store path directly under storeDir: "<dir>/<hash>-<name>".
func checkStorePath(storeDir, p string) error {
	if p == "" {
		return fmt.Errorf("empty store path")
	}
	if path.Clean(p) != p || !path.IsAbs(p) {
		return fmt.Errorf("%q is not a clean absolute store path", p)
	}
	if path.Dir(p) != storeDir {
		return fmt.Errorf("%s is not a path directly under the store %s", p, storeDir)
	}
	base := path.Base(p)
	hash, name, ok := strings.Cut(base, "-")
	if !ok || len(hash) != 32 || name == "" || !isNix32(hash) {
		return fmt.Errorf("%s is not a store path (want %s/<32 hash chars>-<name>)", p, storeDir)
	}
	return nil
}

// SortedPaths returns every store path of the closure in lexical order.
func (g *Graph) SortedPaths() []string {
	out := make([]string, 0, len(g.Paths))
	for p := range g.Paths {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// NarHashes maps every store path of the closure to its NAR hash (the layer cache key input).
func (g *Graph) NarHashes() map[string]string {
	out := make(map[string]string, len(g.Paths))
	for p, sp := range g.Paths {
		out[p] = sp.NarHash
	}
	return out
}

// NarSize is the sum of the NAR sizes of every path of the closure.
func (g *Graph) NarSize() int64 {
	var n int64
	for _, sp := range g.Paths {
		n += sp.NarSize
	}
	return n
}

// Tops returns the paths no other path of the set references (self-references aside): the
// natural roots of a closure file that does not name its roots. Sorted.
func Tops(paths []*StorePath) []string {
	referenced := map[string]bool{}
	for _, p := range paths {
		for _, r := range p.References {
			if r != p.Path {
				referenced[r] = true
			}
		}
	}
	var out []string
	for _, p := range paths {
		if !referenced[p.Path] {
			out = append(out, p.Path)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Subgraph returns the closure of roots within g (every path reachable from them).
func (g *Graph) Subgraph(roots []string) (*Graph, error) {
	reached, err := g.Reachable(roots...)
	if err != nil {
		return nil, err
	}
	paths := make([]*StorePath, len(reached))
	for i, p := range reached {
		paths[i] = g.Paths[p]
	}
	return New(roots, paths)
}

// Reachable lists every path reachable from roots within g, roots included, each once.
func (g *Graph) Reachable(roots ...string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	stack := slices.Clone(roots)
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[p] {
			continue
		}
		seen[p] = true
		sp, ok := g.Paths[p]
		if !ok {
			return nil, fmt.Errorf("%s is not in the closure", p)
		}
		out = append(out, p)
		stack = append(stack, sp.References...)
	}
	return out, nil
}

// FromNix builds the closure of installables with the nix command at nixBin ("nix" if
// empty). Store paths (or symlinks to them, such as ./result) are used as they are; anything
// else is built with `nix build --no-link --json`. Then `nix path-info --json --recursive`.
func FromNix(ctx context.Context, nixBin string, installables []string) (*Graph, error) {
	return fromNix(ctx, nixBin, installables)
}

// Package build turns an image spec into images: per arch, closure graph → layer plan →
// deterministic layers + customisation layer → OCI image with its config; then one index.
package build

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/closure"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/layer"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/layering"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/progress"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/sbom"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/spec"
)

// Options say how to build; the spec says what.
type Options struct {
	// NixBin is the nix command used for roots ("nix" if empty).
	NixBin string
	// CacheDir, when set, holds a content-addressed layer cache reused across builds (see
	// CacheDir for the command line's default).
	CacheDir string
	// TempDir holds spilled layers ("" is os.TempDir()).
	TempDir string
	// Tool names imagegen in the SBOM, e.g. "imagegen-0.1.0".
	Tool string
	// Progress, when set, shows layer progress.
	Progress *progress.Reporter
	Log      *slog.Logger
}

// Arch is one platform's result.
type Arch struct {
	Name  string
	Graph *closure.Graph
	Plan  layering.Plan
	Image v1.Image
	SBOM  []byte
}

// Result is a whole build: one image per arch and the index over them.
type Result struct {
	Index  v1.ImageIndex
	Arches []*Arch
}

// SBOMs maps each platform manifest digest to its SPDX document (for sink.Image).
func (r *Result) SBOMs() (map[v1.Hash][]byte, error) {
	out := map[v1.Hash][]byte{}
	for _, a := range r.Arches {
		d, err := a.Image.Digest()
		if err != nil {
			return nil, err
		}
		out[d] = a.SBOM
	}
	return out, nil
}

// Closure reads the closure of one arch: from its closure file (closureInfo directory,
// nix path-info JSON or exportReferencesGraph file), or by asking Nix about its roots.
func Closure(ctx context.Context, s *spec.Spec, arch, nixBin string) (*closure.Graph, error) {
	if f := s.Closures[arch]; f != "" {
		paths, err := readClosureFile(f)
		if err != nil {
			return nil, err
		}
		g, err := closure.New(closure.Tops(paths), paths)
		if err != nil {
			return nil, fmt.Errorf("closure file %s: %w", f, err)
		}
		return g, nil
	}
	g, err := closure.FromNix(ctx, nixBin, s.Roots[arch])
	if err != nil {
		return nil, fmt.Errorf("closure of %s: %w", arch, err)
	}
	return g, nil
}

func readClosureFile(f string) ([]*closure.StorePath, error) {
	fi, err := os.Stat(f)
	if err != nil {
		return nil, fmt.Errorf("closure file: %w", err)
	}
	if fi.IsDir() {
		paths, err := closure.ParseClosureInfo(f)
		if err != nil {
			return nil, fmt.Errorf("closureInfo %s: %w", f, err)
		}
		return paths, nil
	}
	fh, err := os.Open(f)
	if err != nil {
		return nil, fmt.Errorf("closure file: %w", err)
	}
	defer fh.Close()
	head := make([]byte, 64)
	n, _ := fh.Read(head)
	if _, err := fh.Seek(0, 0); err != nil {
		return nil, err
	}
	var paths []*closure.StorePath
	if t := strings.TrimSpace(string(head[:n])); strings.HasPrefix(t, "[") || strings.HasPrefix(t, "{") {
		paths, err = closure.ParsePathInfo(fh)
	} else {
		paths, err = closure.ParseExportReferencesGraph(fh)
	}
	if err != nil {
		return nil, fmt.Errorf("closure file %s: %w", f, err)
	}
	return paths, nil
}

// Plan lays out one arch's closure within the spec's cap (which counts the customisation layer).
func Plan(g *closure.Graph, s *spec.Spec) (layering.Plan, error) {
	return layering.New(g, s.MaxLayers-1)
}

// Build builds every arch of the spec and the index over them.
func Build(ctx context.Context, s *spec.Spec, o Options) (*Result, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	graphs, err := Check(ctx, s, o.NixBin)
	if err != nil {
		return nil, err
	}
	var cache *layer.Cache
	if o.CacheDir != "" {
		c, err := layer.NewCache(o.CacheDir)
		if err != nil {
			return nil, err
		}
		cache = c
	}
	res := &Result{}
	var adds []mutate.IndexAddendum
	// A layer that several arches hold (the same store paths) is written once per build.
	shared := &layer.Shared{}
	for _, arch := range s.Arches {
		a, err := buildArch(ctx, s, arch, graphs[arch], cache, shared, o)
		if err != nil {
			return nil, err
		}
		res.Arches = append(res.Arches, a)
		osName, cpu, variant, _ := spec.Platform(arch)
		adds = append(adds, mutate.IndexAddendum{Add: a.Image, Descriptor: v1.Descriptor{
			MediaType: types.OCIManifestSchema1,
			Platform:  &v1.Platform{OS: osName, Architecture: cpu, Variant: variant},
		}})
	}
	res.Index = mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
	if ann := Annotations(s); len(ann) > 0 {
		res.Index = mutate.Annotations(res.Index, ann).(v1.ImageIndex)
	}
	return res, nil
}

func buildArch(ctx context.Context, s *spec.Spec, arch string, g *closure.Graph, cache *layer.Cache, shared *layer.Shared, o Options) (*Arch, error) {
	plan, err := Plan(g, s)
	if err != nil {
		return nil, err
	}
	o.Log.Info("closure", "arch", arch, "paths", len(g.Paths), "narBytes", g.NarSize(), "layers", len(plan.Layers)+1)
	lopts := layer.Options{Epoch: s.Created, Compression: s.Compression, Cache: cache, NarHashes: g.NarHashes(), TempDir: o.TempDir, Shared: shared}
	layers, err := buildLayers(ctx, arch, plan, lopts, o.Progress)
	if err != nil {
		return nil, err
	}
	cust, env, err := customisation(g, s)
	if err != nil {
		return nil, err
	}
	cl, err := cust.Layer(lopts)
	if err != nil {
		return nil, fmt.Errorf("customisation layer: %w", err)
	}
	img, err := assemble(s, arch, plan, layers, cl, env)
	if err != nil {
		return nil, err
	}
	ref := s.Name
	if len(s.Tags) > 0 {
		ref += ":" + s.Tags[0]
	}
	osName, cpu, variant, _ := spec.Platform(arch)
	plat := osName + "/" + cpu
	if variant != "" {
		plat += "/" + variant
	}
	doc, err := sbom.Document(g, sbom.Options{Name: ref + " (" + plat + ")", Created: s.Created, Tool: o.Tool})
	if err != nil {
		return nil, err
	}
	return &Arch{Name: arch, Graph: g, Plan: plan, Image: img, SBOM: doc}, nil
}

// buildLayers writes the plan's layers with layer.BuildAll, counting them on the progress reporter.
func buildLayers(ctx context.Context, arch string, plan layering.Plan, o layer.Options, pr *progress.Reporter) ([]v1.Layer, error) {
	var done func()
	if pr != nil {
		count := pr.Steps(arch+" layers", len(plan.Layers))
		defer count.Done()
		done = func() { count.Add(1) }
	}
	layers, err := layer.BuildAll(ctx, plan, o, done)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", arch, err)
	}
	return layers, nil
}

// customisation derives the customisation layer from the closure: /bin links to every root's
// bin/* programs, the CA bundle when the closure has one, and the user. It also returns env
// additions (PATH, SSL_CERT_FILE).
func customisation(g *closure.Graph, s *spec.Spec) (layer.Customisation, []string, error) {
	c := layer.Customisation{User: s.User.Name, UID: s.User.UID, GID: s.User.GID, Home: s.User.Home, Symlinks: map[string]string{}}
	from := map[string]string{}
	roots := slices.Sorted(slices.Values(g.Roots))
	for _, r := range roots {
		ents, err := os.ReadDir(filepath.Join(r, "bin"))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return c, nil, fmt.Errorf("read %s/bin: %w", r, err)
		}
		for _, e := range ents {
			link := "/bin/" + e.Name()
			if prev, dup := from[link]; dup {
				return c, nil, fmt.Errorf("roots %s and %s both provide bin/%s: keep one of them as a root", prev, r, e.Name())
			}
			from[link] = r
			c.Symlinks[link] = filepath.Join(r, "bin", e.Name())
		}
	}
	var env []string
	if !hasEnv(s.Env, "PATH") {
		env = append(env, "PATH=/bin")
	}
	for _, p := range g.SortedPaths() {
		for _, rel := range []string{"etc/ssl/certs/ca-bundle.crt", "etc/ssl/certs/ca-certificates.crt"} {
			if _, err := os.Stat(filepath.Join(p, rel)); err == nil && c.CACerts == "" {
				c.CACerts = p
			}
		}
	}
	if c.CACerts != "" && !hasEnv(s.Env, "SSL_CERT_FILE") {
		env = append(env, "SSL_CERT_FILE="+layer.CACertsFile)
	}
	return c, env, nil
}

func hasEnv(env []string, key string) bool {
	for _, e := range env {
		if k, _, _ := strings.Cut(e, "="); k == key {
			return true
		}
	}
	return false
}

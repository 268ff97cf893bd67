package build

import (
	"context"
	"slices"
	"strings"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/closure"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/preflight"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/spec"
)

// Check reads the closure of every arch and checks what would make a useless image, before
// any layer is built: the closure is a valid, acyclic graph that fits the layer cap, its ELF
// programs and libraries are for the arch, and the entrypoint (or cmd) and healthcheck
// programs exist in the image and can run there (except the spec's derivedPrograms, which an
// image built on this one adds). It returns the closures for the build.
func Check(ctx context.Context, s *spec.Spec, nixBin string) (map[string]*closure.Graph, error) {
	graphs := map[string]*closure.Graph{}
	for _, arch := range s.Arches {
		g, err := Closure(ctx, s, arch, nixBin)
		if err != nil {
			return nil, err
		}
		if _, err := Plan(g, s); err != nil {
			return nil, err
		}
		if err := preflight.CheckArch(ctx, g, arch); err != nil {
			return nil, err
		}
		cust, env, err := customisation(g, s)
		if err != nil {
			return nil, err
		}
		im := &preflight.Image{Arch: arch, Graph: g, Symlinks: cust.Symlinks, Path: envPath(append(append([]string{}, s.Env...), env...)), UID: s.User.UID}
		what, argv := "entrypoint", s.Entrypoint
		if len(argv) == 0 {
			what, argv = "cmd", s.Cmd
		}
		if len(argv) > 0 && !slices.Contains(s.DerivedPrograms, argv[0]) {
			if err := im.Program(what, argv[0]); err != nil {
				return nil, err
			}
		}
		if h := s.Healthcheck; h != nil && len(h.Test) > 1 && h.Test[0] == "CMD" && !slices.Contains(s.DerivedPrograms, h.Test[1]) {
			if err := im.Program("healthcheck", h.Test[1]); err != nil {
				return nil, err
			}
		}
		graphs[arch] = g
	}
	return graphs, nil
}

// envPath is the PATH of an image's environment (Docker's default when none is set).
func envPath(env []string) string {
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			return v
		}
	}
	return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
}

package build

import (
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/layering"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/spec"
)

// Config is the OCI image config of the spec for arch (without rootfs and history).
func Config(s *spec.Spec, arch string, extraEnv []string) (*v1.ConfigFile, error) {
	osName, cpu, variant, err := spec.Platform(arch)
	if err != nil {
		return nil, err
	}
	cfg := v1.Config{
		Entrypoint: s.Entrypoint,
		Cmd:        s.Cmd,
		Env:        append(append([]string{}, s.Env...), extraEnv...),
		Labels:     s.Labels,
		User:       strconv.Itoa(s.User.UID) + ":" + strconv.Itoa(s.User.GID),
		WorkingDir: s.WorkingDir,
	}
	if len(s.ExposedPorts) > 0 {
		cfg.ExposedPorts = map[string]struct{}{}
		for _, p := range s.ExposedPorts {
			n, err := spec.NormalizePort(p)
			if err != nil {
				return nil, err
			}
			cfg.ExposedPorts[n] = struct{}{}
		}
	}
	if h := s.Healthcheck; h != nil {
		cfg.Healthcheck = &v1.HealthConfig{
			Test:        h.Test,
			Interval:    time.Duration(h.Interval),
			Timeout:     time.Duration(h.Timeout),
			StartPeriod: time.Duration(h.StartPeriod),
			Retries:     h.Retries,
		}
	}
	return &v1.ConfigFile{
		Architecture: cpu,
		OS:           osName,
		Variant:      variant,
		Created:      v1.Time{Time: s.Created},
		Config:       cfg,
		RootFS:       v1.RootFS{Type: "layers"},
	}, nil
}

// Annotations are the annotations of every platform manifest and of the index: the
// standard org.opencontainers.image.* labels (created, title, source, licenses, …; the image
// spec's pre-defined annotation keys) and the spec's own annotations, which win.
func Annotations(s *spec.Spec) map[string]string {
	out := map[string]string{}
	for k, v := range s.Labels {
		if strings.HasPrefix(k, "org.opencontainers.image.") {
			out[k] = v
		}
	}
	maps.Copy(out, s.Annotations)
	return out
}

// assemble stacks the closure layers (bottom first) and the customisation layer on an empty
// OCI image, with one history entry per layer naming what it holds.
func assemble(s *spec.Spec, arch string, plan layering.Plan, layers []v1.Layer, cust v1.Layer, extraEnv []string) (v1.Image, error) {
	cf, err := Config(s, arch, extraEnv)
	if err != nil {
		return nil, err
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	base, err = mutate.ConfigFile(base, cf)
	if err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	created := v1.Time{Time: s.Created}
	adds := make([]mutate.Addendum, 0, len(layers)+1)
	for i, l := range layers {
		adds = append(adds, mutate.Addendum{Layer: l, MediaType: mustMediaType(l), History: v1.History{
			Created:   created,
			CreatedBy: "imagegen: " + describe(plan.Layers[i].Paths),
			Comment:   fmt.Sprintf("%d store paths, %d NAR bytes", len(plan.Layers[i].Paths), plan.Layers[i].NarSize),
		}})
	}
	adds = append(adds, mutate.Addendum{Layer: cust, MediaType: mustMediaType(cust), History: v1.History{
		Created: created, CreatedBy: "imagegen: customisation (/etc/passwd, /etc/group, /tmp, /bin links, CA certificates)",
	}})
	img, err := mutate.Append(base, adds...)
	if err != nil {
		return nil, fmt.Errorf("assemble %s image: %w", arch, err)
	}
	if ann := Annotations(s); len(ann) > 0 {
		img = mutate.Annotations(img, ann).(v1.Image)
	}
	return img, nil
}

func mustMediaType(l v1.Layer) types.MediaType {
	mt, err := l.MediaType()
	if err != nil {
		return types.OCILayer
	}
	return mt
}

// describe names a layer's store paths briefly: the first path's name and how many more.
func describe(paths []string) string {
	if len(paths) == 0 {
		return ""
	}
	name := paths[0]
	if i := strings.LastIndex(name, "/"); i >= 0 && len(name) > i+34 {
		name = name[i+34:]
	}
	if len(paths) == 1 {
		return name
	}
	return fmt.Sprintf("%s and %d more", name, len(paths)-1)
}

// Package inspect reads an image back from a docker-archive file, an OCI layout directory or a
// registry and reports, per platform, its config and each layer with the store paths it holds.
package inspect

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/regclient"
)

// Layer is one layer of an image: its digests and size, and what it holds.
type Layer struct {
	Digest    string `json:"digest"`
	DiffID    string `json:"diffID"`
	MediaType string `json:"mediaType"`
	// Size is the compressed (transferred) size in bytes.
	Size int64 `json:"size"`
	// StorePaths are the /nix/store paths with entries in this layer.
	StorePaths []string `json:"storePaths,omitempty"`
	// Other are the top-level entries outside /nix/store (the customisation layer's /etc, /tmp, /bin).
	Other []string `json:"other,omitempty"`
}

// Image is one platform's image.
type Image struct {
	Platform string         `json:"platform"`
	Digest   string         `json:"digest"`
	Config   *v1.ConfigFile `json:"config"`
	Layers   []Layer        `json:"layers"`
}

// Report is everything inspect found at a target.
type Report struct {
	Target string  `json:"target"`
	Index  string  `json:"index,omitempty"`
	Images []Image `json:"images"`
}

// Options control what is read.
type Options struct {
	// Contents reads every layer's tar headers to list store paths (downloads layers from a registry).
	Contents bool
	// Access says how registries are reached (credentials from the keychain, --insecure).
	Access regclient.Access
}

// Inspect reads target: an existing file is a docker-archive, an existing directory an OCI
// layout, anything else a registry reference.
func Inspect(ctx context.Context, target string, o Options) (*Report, error) {
	rep := &Report{Target: target}
	var imgs []v1.Image
	fi, err := os.Stat(target)
	switch {
	case err == nil && fi.IsDir():
		idx, err := layout.ImageIndexFromPath(target)
		if err != nil {
			return nil, fmt.Errorf("%s is not an OCI layout: %w", target, err)
		}
		imgs, err = fromIndex(idx, rep)
		if err != nil {
			return nil, err
		}
	case err == nil:
		img, err := tarball.ImageFromPath(target, nil)
		if err != nil {
			return nil, fmt.Errorf("%s is not a docker-archive tarball: %w", target, err)
		}
		imgs = []v1.Image{img}
	case errors.Is(err, os.ErrNotExist) && !strings.HasPrefix(target, "/") && !strings.HasPrefix(target, "."):
		ref, perr := o.Access.ParseReference(target)
		if perr != nil {
			return nil, fmt.Errorf("%s is neither a file, a directory nor an image reference", target)
		}
		desc, err := remote.Get(ref, o.Access.Options(ctx)...)
		if err != nil {
			return nil, regclient.Explain(err, ref.Context().Registry, "read "+ref.String())
		}
		if desc.MediaType.IsIndex() {
			idx, err := desc.ImageIndex()
			if err != nil {
				return nil, err
			}
			if imgs, err = fromIndex(idx, rep); err != nil {
				return nil, err
			}
		} else {
			img, err := desc.Image()
			if err != nil {
				return nil, err
			}
			imgs = []v1.Image{img}
		}
	default:
		return nil, fmt.Errorf("inspect %s: %w", target, err)
	}
	for _, img := range imgs {
		ir, err := image(ctx, img, o)
		if err != nil {
			return nil, err
		}
		rep.Images = append(rep.Images, ir)
	}
	return rep, nil
}

// fromIndex flattens an index (and nested indexes, as in an OCI layout) into its images,
// skipping artifacts such as SBOM referrers.
func fromIndex(idx v1.ImageIndex, rep *Report) ([]v1.Image, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("read index: %w", err)
	}
	var out []v1.Image
	for _, d := range im.Manifests {
		switch {
		case d.MediaType.IsIndex():
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, err
			}
			if rep.Index == "" {
				rep.Index = d.Digest.String()
			}
			imgs, err := fromIndex(child, rep)
			if err != nil {
				return nil, err
			}
			out = append(out, imgs...)
		case d.MediaType.IsImage() && isImageConfig(d.ArtifactType):
			img, err := idx.Image(d.Digest)
			if err != nil {
				return nil, err
			}
			out = append(out, img)
		}
	}
	if rep.Index == "" {
		if h, err := idx.Digest(); err == nil {
			rep.Index = h.String()
		}
	}
	return out, nil
}

// isImageConfig tells a runnable image from an artifact (an SBOM): ggcr sets a descriptor's
// artifactType to the config media type.
func isImageConfig(artifactType string) bool {
	switch types.MediaType(artifactType) {
	case "", types.DockerConfigJSON, types.OCIConfigJSON:
		return true
	}
	return false
}

func image(ctx context.Context, img v1.Image, o Options) (Image, error) {
	var ir Image
	d, err := img.Digest()
	if err != nil {
		return ir, fmt.Errorf("image digest: %w", err)
	}
	ir.Digest = d.String()
	if ir.Config, err = img.ConfigFile(); err != nil {
		return ir, fmt.Errorf("read config: %w", err)
	}
	ir.Platform = ir.Config.OS + "/" + ir.Config.Architecture
	if ir.Config.Variant != "" {
		ir.Platform += "/" + ir.Config.Variant
	}
	layers, err := img.Layers()
	if err != nil {
		return ir, fmt.Errorf("read layers: %w", err)
	}
	for _, l := range layers {
		if err := ctx.Err(); err != nil {
			return ir, err
		}
		lr, err := layer(l, o)
		if err != nil {
			return ir, err
		}
		ir.Layers = append(ir.Layers, lr)
	}
	return ir, nil
}

// LayerContents reports one layer, with the store paths and other entries it holds.
func LayerContents(l v1.Layer) (Layer, error) { return layer(l, Options{Contents: true}) }

func layer(l v1.Layer, o Options) (Layer, error) {
	var lr Layer
	dg, err := l.Digest()
	if err != nil {
		return lr, err
	}
	diff, err := l.DiffID()
	if err != nil {
		return lr, err
	}
	mt, _ := l.MediaType()
	size, err := l.Size()
	if err != nil {
		return lr, err
	}
	lr = Layer{Digest: dg.String(), DiffID: diff.String(), MediaType: string(mt), Size: size}
	if !o.Contents {
		return lr, nil
	}
	rc, err := l.Uncompressed()
	if err != nil {
		return lr, fmt.Errorf("read layer %s: %w", dg, err)
	}
	defer rc.Close()
	store, other := map[string]bool{}, map[string]bool{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return lr, fmt.Errorf("read layer %s: %w", dg, err)
		}
		p := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		parts := strings.SplitN(p, "/", 4)
		switch {
		case len(parts) >= 3 && parts[0] == "nix" && parts[1] == "store":
			store["/nix/store/"+parts[2]] = true
		case p == "nix" || p == "nix/store":
		default:
			other["/"+p] = true
		}
	}
	lr.StorePaths = sortedSet(store)
	lr.Other = sortedSet(other)
	return lr, nil
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

package sink

import (
	"context"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/regclient"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/sbom"
)

// Registry pushes the index of every platform to a registry, tags it, and attaches each
// platform's SBOM as an OCI referrer. ggcr's remote checks each blob with HEAD first, so
// layers the registry already has are not sent again. Credentials come from Docker's
// config.json and credential helpers (regclient).
type Registry struct {
	Ref      name.Reference
	Access   regclient.Access
	Progress chan<- v1.Update
}

func (r *Registry) String() string { return "registry:" + r.Ref.String() }

func (r *Registry) options(ctx context.Context) []remote.Option {
	return append(r.Access.Options(ctx),
		// Two quick retries: a registry that is down should fail in seconds, not minutes.
		remote.WithRetryBackoff(remote.Backoff{Duration: 500 * time.Millisecond, Factor: 2, Jitter: 0.1, Steps: 2}))
}

// Check reaches the registry and makes sure the credentials allow a push, before the build.
func (r *Registry) Check(ctx context.Context) error {
	return r.Access.CheckPush(ctx, r.Ref)
}

// Write pushes the index, then the extra tags, then the SBOM referrers.
func (r *Registry) Write(ctx context.Context, img Image) error {
	reg := r.Ref.Context().Registry
	what := "push to " + r.Ref.Context().Name()
	opts := r.options(ctx)
	push := append([]remote.Option{}, opts...)
	if r.Progress != nil {
		push = append(push, remote.WithProgress(r.Progress))
	}
	if err := remote.WriteIndex(r.Ref, img.Index, push...); err != nil {
		return regclient.Explain(err, reg, what)
	}
	if _, isTag := r.Ref.(name.Tag); isTag {
		for _, t := range img.Tags {
			tag := r.Ref.Context().Tag(refName(t))
			if tag.String() == r.Ref.String() {
				continue
			}
			if err := remote.Tag(tag, img.Index, opts...); err != nil {
				return regclient.Explain(err, reg, "tag "+tag.String())
			}
		}
	}
	im, err := img.Index.IndexManifest()
	if err != nil {
		return err
	}
	repo := r.Ref.Context()
	for _, d := range im.Manifests {
		doc, ok := img.SBOMs[d.Digest]
		if !ok {
			continue
		}
		ref, err := sbom.NewReferrer(doc, d)
		if err != nil {
			return err
		}
		for _, b := range ref.Blobs {
			if err := remote.WriteLayer(repo, b, opts...); err != nil {
				return regclient.Explain(err, reg, "push the SBOM of "+PlatformString(d.Platform))
			}
		}
		h, err := ref.Digest()
		if err != nil {
			return err
		}
		if err := remote.Put(repo.Digest(h.String()), ref, opts...); err != nil {
			return regclient.Explain(err, reg, "push the SBOM of "+PlatformString(d.Platform))
		}
	}
	return nil
}

// PushSize is what a push of idx to an empty repository sends, counted as go-containerregistry
// counts its progress: every distinct layer and config blob, each platform manifest and the
// index. Known before the push, it is the fixed total of the push's progress.
func PushSize(idx v1.ImageIndex) (int64, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return 0, err
	}
	total, err := idx.Size()
	if err != nil {
		return 0, err
	}
	seen := map[v1.Hash]bool{}
	for _, d := range im.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			return 0, err
		}
		m, err := img.Manifest()
		if err != nil {
			return 0, err
		}
		total += d.Size
		for _, b := range append([]v1.Descriptor{m.Config}, m.Layers...) {
			if !seen[b.Digest] {
				seen[b.Digest] = true
				total += b.Size
			}
		}
	}
	return total, nil
}

package sink

import (
	"context"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/regclient"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/sbom"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/sign"
)

// Registry pushes the index of every platform to a registry, tags it, and attaches each
// platform's SBOM as an OCI referrer. ggcr's remote checks each blob with HEAD first, so
// layers the registry already has are not sent again. Credentials come from Docker's
// config.json and credential helpers (regclient).
type Registry struct {
	Ref      name.Reference
	Access   regclient.Access
	Progress chan<- v1.Update
	// Signer, when set, signs the index, each platform manifest and each SBOM referrer
	// (cosign's sha256-<digest>.sig tags) once they are pushed, before any tag is set.
	Signer *sign.Signer
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

// Stage pushes the index by digest (every blob, platform manifest and the index, untagged),
// then the SBOM referrers, then (with a Signer) the signatures of all of them; Commit tags the
// index, so a tag never names an unsigned image.
func (r *Registry) Stage(ctx context.Context, img Image) (Staged, error) {
	reg := r.Ref.Context().Registry
	what := "push to " + r.Ref.Context().Name()
	opts := r.options(ctx)
	push := append([]remote.Option{}, opts...)
	if r.Progress != nil {
		push = append(push, remote.WithProgress(r.Progress))
	}
	d, err := img.Index.Digest()
	if err != nil {
		return nil, err
	}
	repo := r.Ref.Context()
	if err := remote.WriteIndex(repo.Digest(d.String()), img.Index, push...); err != nil {
		return nil, regclient.Explain(err, reg, what)
	}
	im, err := img.Index.IndexManifest()
	if err != nil {
		return nil, err
	}
	toSign := []v1.Hash{d}
	for _, m := range im.Manifests {
		toSign = append(toSign, m.Digest)
	}
	for _, d := range im.Manifests {
		doc, ok := img.SBOMs[d.Digest]
		if !ok {
			continue
		}
		ref, err := sbom.NewReferrer(doc, d)
		if err != nil {
			return nil, err
		}
		for _, b := range ref.Blobs {
			if err := remote.WriteLayer(repo, b, opts...); err != nil {
				return nil, regclient.Explain(err, reg, "push the SBOM of "+PlatformString(d.Platform))
			}
		}
		h, err := ref.Digest()
		if err != nil {
			return nil, err
		}
		if err := remote.Put(repo.Digest(h.String()), ref, opts...); err != nil {
			return nil, regclient.Explain(err, reg, "push the SBOM of "+PlatformString(d.Platform))
		}
		toSign = append(toSign, h)
	}
	if r.Signer != nil {
		for _, h := range toSign {
			if err := r.Signer.Push(ctx, repo, h, opts...); err != nil {
				return nil, regclient.Explain(err, reg, "sign "+h.String())
			}
		}
	}
	var tags []name.Tag
	if t, isTag := r.Ref.(name.Tag); isTag {
		tags = append(tags, t)
		for _, s := range img.Tags {
			if tag := repo.Tag(refName(s)); tag.String() != t.String() {
				tags = append(tags, tag)
			}
		}
	}
	return &stagedPush{r: r, index: img.Index, tags: tags}, nil
}

// stagedPush is an index in a registry by digest, to be tagged.
type stagedPush struct {
	r     *Registry
	index v1.ImageIndex
	tags  []name.Tag
}

// Commit tags the pushed index with the reference's tag and every other tag of the image.
func (st *stagedPush) Commit(ctx context.Context) error {
	for _, t := range st.tags {
		if err := remote.Tag(t, st.index, st.r.options(ctx)...); err != nil {
			return regclient.Explain(err, t.Context().Registry, "tag "+t.String())
		}
	}
	return nil
}

// Discard leaves the untagged blobs and manifests to the registry's garbage collection.
func (st *stagedPush) Discard() {}

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

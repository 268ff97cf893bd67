package sink

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/sbom"
)

// Registry pushes the index of every platform to a registry, tags it, and attaches each
// platform's SBOM as an OCI referrer. ggcr's remote checks each blob with HEAD first, so
// layers the registry already has are not sent again.
type Registry struct {
	Ref      name.Reference
	Progress chan<- v1.Update
}

func (r *Registry) String() string { return "registry:" + r.Ref.String() }

func (r *Registry) options(ctx context.Context) []remote.Option {
	return []remote.Option{
		remote.WithContext(ctx),
		// Two quick retries: a registry that is down should fail in seconds, not minutes.
		remote.WithRetryBackoff(remote.Backoff{Duration: 500 * time.Millisecond, Factor: 2, Jitter: 0.1, Steps: 2}),
	}
}

// Check pings the registry, so an unreachable one fails before the build.
func (r *Registry) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	reg := r.Ref.Context().Registry
	_, err := transport.NewWithContext(ctx, reg, nil, http.DefaultTransport, []string{r.Ref.Scope(transport.PushScope)})
	if err != nil {
		var ne net.Error
		var oe *net.OpError
		if errors.As(err, &oe) || errors.As(err, &ne) {
			return fmt.Errorf("registry %s is unreachable (%v): start it or fix --output", reg.Name(), rootCause(err))
		}
		return fmt.Errorf("registry %s: %v", reg.Name(), err)
	}
	return nil
}

// Write pushes the index, then the extra tags, then the SBOM referrers.
func (r *Registry) Write(ctx context.Context, img Image) error {
	opts := r.options(ctx)
	push := append([]remote.Option{}, opts...)
	if r.Progress != nil {
		push = append(push, remote.WithProgress(r.Progress))
	}
	if err := remote.WriteIndex(r.Ref, img.Index, push...); err != nil {
		return fmt.Errorf("push %s: %w", r.Ref, err)
	}
	if _, isTag := r.Ref.(name.Tag); isTag {
		for _, t := range img.Tags {
			tag := r.Ref.Context().Tag(refName(t))
			if tag.String() == r.Ref.String() {
				continue
			}
			if err := remote.Tag(tag, img.Index, opts...); err != nil {
				return fmt.Errorf("tag %s: %w", tag, err)
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
				return fmt.Errorf("push sbom of %s: %w", PlatformString(d.Platform), err)
			}
		}
		h, err := ref.Digest()
		if err != nil {
			return err
		}
		if err := remote.Put(repo.Digest(h.String()), ref, opts...); err != nil {
			return fmt.Errorf("push sbom of %s: %w", PlatformString(d.Platform), err)
		}
	}
	return nil
}

func rootCause(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
}

package sink

import (
	"bufio"
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// DockerArchive writes a `docker load` tarball of one platform, with every tag, and its SBOM
// beside it as FILE.spdx.json. Files appear only when everything was written.
type DockerArchive struct {
	Path     string
	Platform string
	Progress chan<- v1.Update
}

func (d *DockerArchive) String() string { return "docker-archive:" + d.Path }

// Check fails early when the tarball's directory does not exist.
func (d *DockerArchive) Check(context.Context) error { return checkParent("docker-archive", d.Path) }

// Write writes the tarball under a temporary name and renames it into place.
func (d *DockerArchive) Write(ctx context.Context, img Image) error {
	one, desc, err := selectOne(img.Index, d.Platform, "docker-archive")
	if err != nil {
		return err
	}
	ts, err := tags(img.Tags)
	if err != nil {
		return err
	}
	refs := make(map[name.Reference]v1.Image, len(ts))
	for _, t := range ts {
		refs[t] = one
	}
	var p pending
	defer p.discard()
	f, err := p.create(d.Path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(&ctxWriter{ctx: ctx, w: f}, 1<<20)
	var opts []tarball.WriteOption
	if d.Progress != nil {
		opts = append(opts, tarball.WithProgress(d.Progress))
	}
	if err := tarball.MultiRefWrite(refs, w, opts...); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", d.Path, err)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", d.Path, err)
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", d.Path, err)
	}
	if err := sbomFiles(&p, d.Path, img.Index, img.SBOMs, &desc.Digest); err != nil {
		return err
	}
	return p.commit()
}

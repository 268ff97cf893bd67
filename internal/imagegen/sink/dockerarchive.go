package sink

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

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
	// Zstd says the layers are zstd: refused when the engine at DockerHost ("" is
	// $DOCKER_HOST) answers and is older than Docker 23 (no engine: allowed).
	Zstd       bool
	DockerHost string
}

func (d *DockerArchive) String() string { return "docker-archive:" + d.Path }

// Check fails early when the tarball cannot be written: its directory is missing or not
// writable, or the path is a directory; or when its zstd layers could not be loaded by the
// local engine.
func (d *DockerArchive) Check(ctx context.Context) error {
	if d.Zstd {
		if api, host, ok := engineAPI(ctx, d.DockerHost, 3*time.Second); ok {
			if err := checkZstd(d.String(), host, api); err != nil {
				return err
			}
		}
	}
	if fi, err := os.Stat(d.Path); err == nil && fi.IsDir() {
		return fmt.Errorf("docker-archive:%s is a directory: name a file, e.g. docker-archive:%s", d.Path, filepath.Join(d.Path, "image.tar"))
	}
	return checkParent("docker-archive", d.Path)
}

// Stage writes the tarball and its SBOM under temporary names; Commit renames both.
func (d *DockerArchive) Stage(ctx context.Context, img Image) (_ Staged, err error) {
	one, desc, err := selectOne(img.Index, d.Platform, "docker-archive")
	if err != nil {
		return nil, err
	}
	ts, err := tags(img.Tags)
	if err != nil {
		return nil, err
	}
	refs := make(map[name.Reference]v1.Image, len(ts))
	for _, t := range ts {
		refs[t] = one
	}
	p := &pending{}
	defer func() {
		if err != nil {
			p.Discard()
		}
	}()
	f, err := p.create(d.Path)
	if err != nil {
		return nil, err
	}
	w := bufio.NewWriterSize(&ctxWriter{ctx: ctx, w: f}, 1<<20)
	var opts []tarball.WriteOption
	if d.Progress != nil {
		opts = append(opts, tarball.WithProgress(d.Progress))
	}
	if err := tarball.MultiRefWrite(refs, w, opts...); err != nil {
		f.Close()
		return nil, fmt.Errorf("write %s: %w", d.Path, err)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return nil, fmt.Errorf("write %s: %w", d.Path, err)
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("write %s: %w", d.Path, err)
	}
	if err := sbomFiles(p, d.Path, img.Index, img.SBOMs, &desc.Digest); err != nil {
		return nil, err
	}
	return p, nil
}

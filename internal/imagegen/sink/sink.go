// Package sink delivers a built image index somewhere: a docker-archive tarball, an OCI layout
// directory, a registry, or the local Docker engine. One small interface, one file per sink.
package sink

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/regclient"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/sign"
)

// Image is what a build produced: one manifest per platform, the tags to give it, and an SPDX
// SBOM per platform manifest.
type Image struct {
	Index v1.ImageIndex
	// Tags are full references "name:tag"; sinks that name images use them.
	Tags []string
	// SBOMs maps a platform manifest digest to its SPDX JSON document.
	SBOMs map[v1.Hash][]byte
}

// Sink is where an image goes. Stage writes everything that can fail, so that several outputs
// of one build are put in place together or not at all (WriteAll).
type Sink interface {
	// Stage writes the image without putting it in place: files under temporary names, a
	// registry push by digest (untagged), an engine load under a temporary tag.
	Stage(ctx context.Context, img Image) (Staged, error)
	String() string
}

// Staged is an output written but not yet in place.
type Staged interface {
	// Commit puts it in place: renames the files, tags the index or the image.
	Commit(ctx context.Context) error
	// Discard removes what was staged (a registry keeps the untagged blobs it was sent).
	Discard()
}

// Write writes img to one sink.
func Write(ctx context.Context, s Sink, img Image) error { return WriteAll(ctx, img, s) }

// WriteAll writes img to every sink so that they commit together: all are staged first, and
// when one fails the others are discarded and none is in place. Then outputs that may fail for
// reasons outside this machine (a registry's tags, an engine's tags) are committed before the
// renames of local files, which do not fail in practice.
func WriteAll(ctx context.Context, img Image, sinks ...Sink) error {
	staged := make([]Staged, 0, len(sinks))
	discard := func() {
		for _, st := range staged {
			st.Discard()
		}
	}
	for _, s := range sinks {
		st, err := s.Stage(ctx, img)
		if err != nil {
			discard()
			if len(sinks) > 1 {
				return fmt.Errorf("%s: %w (no output was written)", s, err)
			}
			return err
		}
		staged = append(staged, st)
	}
	local := func(st Staged) bool {
		switch st.(type) {
		case *pending, *stagedLayout:
			return true
		}
		return false
	}
	var order []int
	for _, remote := range []bool{true, false} {
		for i, st := range staged {
			if local(st) != remote {
				order = append(order, i)
			}
		}
	}
	for n, i := range order {
		if err := staged[i].Commit(ctx); err != nil {
			var done []string
			for _, j := range order[:n] {
				done = append(done, sinks[j].String())
			}
			for _, j := range order[n+1:] {
				staged[j].Discard()
			}
			if len(done) > 0 {
				return fmt.Errorf("%s: %w (already in place: %s)", sinks[i], err, strings.Join(done, ", "))
			}
			if len(sinks) > 1 {
				return fmt.Errorf("%s: %w (no output was written)", sinks[i], err)
			}
			return err
		}
	}
	return nil
}

// Checker is implemented by sinks that can tell before the build that they cannot be written
// (an unreachable registry, a missing Docker engine), so no work is wasted.
type Checker interface {
	Check(ctx context.Context) error
}

// Options apply to every sink.
type Options struct {
	// Platform picks one platform ("linux/amd64") for sinks that hold only one.
	Platform string
	// Progress, when set, receives byte progress of pushes and writes.
	Progress chan<- v1.Update
	// DockerHost overrides $DOCKER_HOST for the docker-daemon sink.
	DockerHost string
	// Platforms, when known before the build ("linux/amd64", "linux/arm64/v8"), let Parse
	// refuse a one-platform sink for several platforms before any work is done.
	Platforms []string
	// Access says how registries are reached (credentials, --insecure).
	Access regclient.Access
	// Signer, when set, signs what a registry sink pushes (cosign signatures).
	Signer *sign.Signer
	// Compression of the layers ("gzip", "zstd"): an engine older than Docker 23 cannot load
	// zstd, so docker-daemon and docker-archive refuse it for one.
	Compression string
}

// Kinds lists the accepted --output forms.
const Kinds = "docker-archive:FILE, oci:DIR, registry:REF or docker-daemon"

// Parse turns an --output value into a sink.
func Parse(out string, o Options) (Sink, error) {
	kind, arg, _ := strings.Cut(out, ":")
	switch kind {
	case "docker-archive":
		if arg == "" {
			return nil, fmt.Errorf("--output docker-archive needs a file: docker-archive:FILE")
		}
		if err := onePlatform(kind, o); err != nil {
			return nil, err
		}
		return &DockerArchive{Path: arg, Platform: o.Platform, Progress: o.Progress, Zstd: o.Compression == "zstd", DockerHost: o.DockerHost}, nil
	case "oci":
		if arg == "" {
			return nil, fmt.Errorf("--output oci needs a directory: oci:DIR")
		}
		return &OCILayout{Path: arg}, nil
	case "registry":
		ref, err := o.Access.ParseReference(arg)
		if err != nil || arg == "" {
			return nil, fmt.Errorf("--output registry:%s is not a valid reference (e.g. registry:127.0.0.1:5000/app:latest)", arg)
		}
		return &Registry{Ref: ref, Access: o.Access, Progress: o.Progress, Signer: o.Signer}, nil
	case "docker-daemon":
		if err := onePlatform(kind, o); err != nil {
			return nil, err
		}
		return &DockerDaemon{Host: o.DockerHost, Platform: o.Platform, Zstd: o.Compression == "zstd"}, nil
	}
	return nil, fmt.Errorf("unknown output %q: use %s", out, Kinds)
}

// onePlatform refuses a one-platform sink when several platforms will be built and none is chosen.
func onePlatform(kind string, o Options) error {
	if o.Platform == "" && len(o.Platforms) > 1 {
		return fmt.Errorf("%s holds one platform but %d are built (%s): pass --platform %s, or use oci:DIR or registry:REF for all of them",
			kind, len(o.Platforms), strings.Join(o.Platforms, ", "), o.Platforms[0])
	}
	if o.Platform != "" && len(o.Platforms) > 0 {
		for _, p := range o.Platforms {
			if p == o.Platform || strings.HasPrefix(p, o.Platform+"/") {
				return nil
			}
		}
		return fmt.Errorf("--platform %s is not built (built: %s)", o.Platform, strings.Join(o.Platforms, ", "))
	}
	return nil
}

// PlatformString formats a platform as os/arch[/variant].
func PlatformString(p *v1.Platform) string {
	if p == nil {
		return "unknown"
	}
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// selectOne returns the single image a one-platform sink writes: the only one, or the one
// matching platform ("linux/arm64" also matches linux/arm64/v8).
func selectOne(idx v1.ImageIndex, platform, sinkName string) (v1.Image, v1.Descriptor, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, v1.Descriptor{}, fmt.Errorf("read index: %w", err)
	}
	var all []string
	var pick *v1.Descriptor
	for i, d := range im.Manifests {
		ps := PlatformString(d.Platform)
		all = append(all, ps)
		if platform != "" && (ps == platform || strings.HasPrefix(ps, platform+"/")) {
			pick = &im.Manifests[i]
		}
	}
	switch {
	case platform == "" && len(im.Manifests) == 1:
		pick = &im.Manifests[0]
	case platform == "":
		return nil, v1.Descriptor{}, fmt.Errorf("%s holds one platform but %d were built (%s): pass --platform %s, or use oci:DIR or registry:REF for all of them",
			sinkName, len(all), strings.Join(all, ", "), all[0])
	case pick == nil:
		return nil, v1.Descriptor{}, fmt.Errorf("--platform %s was not built (built: %s)", platform, strings.Join(all, ", "))
	}
	img, err := idx.Image(pick.Digest)
	if err != nil {
		return nil, v1.Descriptor{}, fmt.Errorf("read image %s: %w", pick.Digest, err)
	}
	return img, *pick, nil
}

// tags parses the image's references.
func tags(refs []string) ([]name.Tag, error) {
	out := make([]name.Tag, 0, len(refs))
	for _, r := range refs {
		t, err := name.NewTag(r, name.WeakValidation)
		if err != nil {
			return nil, fmt.Errorf("tag %q: %w", r, err)
		}
		out = append(out, t)
	}
	return out, nil
}

// pending is a set of files written under temporary names, renamed into place together by
// commit, or removed by discard, so a failed write leaves nothing behind.
type pending struct{ tmp, final []string }

// create opens a temporary file beside final. Where no sibling may be created (a Nix builder
// writing $out into a store directory it does not own) it creates final itself, exclusively;
// discard still removes it.
func (p *pending) create(final string) (*os.File, error) {
	f, err := os.CreateTemp(filepath.Dir(final), "."+filepath.Base(final)+".tmp-*")
	if errors.Is(err, fs.ErrPermission) {
		f, err = os.OpenFile(final, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	}
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", final, err)
	}
	p.tmp, p.final = append(p.tmp, f.Name()), append(p.final, final)
	return f, nil
}

// writeFile writes data to final via a temporary file.
func (p *pending) writeFile(final string, data []byte) error {
	f, err := p.create(final)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", final, err)
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Commit renames every file into place.
func (p *pending) Commit(context.Context) error {
	for i := range p.tmp {
		if p.tmp[i] == p.final[i] {
			continue // written in place
		}
		if err := os.Rename(p.tmp[i], p.final[i]); err != nil {
			p.tmp, p.final = p.tmp[i:], p.final[i:]
			p.Discard()
			return fmt.Errorf("rename into place: %w", err)
		}
	}
	p.tmp, p.final = nil, nil
	return nil
}

// Discard removes every file not yet in place.
func (p *pending) Discard() {
	for _, t := range p.tmp {
		_ = os.RemoveAll(t)
	}
	p.tmp, p.final = nil, nil
}

// sbomFiles queues FILE.spdx.json (one platform) or FILE.<arch>.spdx.json (several) beside out.
// An output written by a Nix builder straight into the store ($out) gets none: a file beside it
// would be an unregistered stray in the store.
func sbomFiles(p *pending, out string, idx v1.ImageIndex, sboms map[v1.Hash][]byte, only *v1.Hash) error {
	if inNixStore(out) {
		return nil
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	n := 0
	for _, d := range im.Manifests {
		if _, ok := sboms[d.Digest]; ok && (only == nil || *only == d.Digest) {
			n++
		}
	}
	for _, d := range im.Manifests {
		doc, ok := sboms[d.Digest]
		if !ok || (only != nil && *only != d.Digest) {
			continue
		}
		name := out + ".spdx.json"
		if n > 1 {
			name = out + "." + d.Platform.Architecture + ".spdx.json"
		}
		if err := p.writeFile(name, doc); err != nil {
			return err
		}
	}
	return nil
}

// checkParent fails, before the build, when the directory an output goes into does not exist
// or cannot be written (a file is created and removed there; in a Nix store directory, where
// only $out may be created, the output itself is).
func checkParent(kind, path string) error {
	dir := filepath.Dir(filepath.Clean(path))
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("%s:%s: directory %s does not exist: create it or pick another path", kind, path, dir)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s:%s: %s is not a directory", kind, path, dir)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".check-*")
	if errors.Is(err, fs.ErrPermission) {
		f, err = os.OpenFile(filepath.Clean(path), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	}
	if err != nil {
		return fmt.Errorf("%s:%s: cannot write in %s (%v): pick a writable directory", kind, path, dir, regclient.RootCause(err))
	}
	f.Close()
	return os.Remove(f.Name())
}

// inNixStore reports whether path is a top-level entry of the Nix store ($NIX_STORE or /nix/store).
func inNixStore(path string) bool {
	store := os.Getenv("NIX_STORE")
	if store == "" {
		store = "/nix/store"
	}
	abs, err := filepath.Abs(path)
	return err == nil && filepath.Dir(abs) == filepath.Clean(store)
}

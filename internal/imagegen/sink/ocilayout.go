package sink

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// OCILayout writes an OCI image layout directory holding the index of every platform, named by
// each tag (org.opencontainers.image.ref.name), with SBOMs beside it. An existing layout at the
// path is replaced only after the new one is complete.
type OCILayout struct {
	Path string
}

func (o *OCILayout) String() string { return "oci:" + o.Path }

// Check fails early when the layout's parent directory does not exist.
func (o *OCILayout) Check(context.Context) error { return checkParent("oci", o.Path) }

// Write builds the layout in a temporary directory beside Path and swaps it in.
func (o *OCILayout) Write(ctx context.Context, img Image) error {
	dir := filepath.Clean(o.Path)
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("oci:%s exists and is not a directory: remove it or pick another path", o.Path)
		}
		if _, err := os.Stat(filepath.Join(dir, "oci-layout")); err != nil {
			if ents, _ := os.ReadDir(dir); len(ents) > 0 {
				return fmt.Errorf("oci:%s is a non-empty directory that is not an OCI layout: refusing to replace it", o.Path)
			}
		}
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create oci:%s: %w", o.Path, err)
	}
	var p pending
	p.tmp = append(p.tmp, tmp) // removed by discard on failure
	defer p.discard()
	lp, err := layout.Write(tmp, empty.Index)
	if err != nil {
		return fmt.Errorf("write oci:%s: %w", o.Path, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var opts []layout.Option
	if len(img.Tags) > 0 {
		opts = append(opts, layout.WithAnnotations(map[string]string{
			"org.opencontainers.image.ref.name": refName(img.Tags[0]),
		}))
	}
	if err := lp.AppendIndex(img.Index, opts...); err != nil {
		return fmt.Errorf("write oci:%s: %w", o.Path, err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	sb := pending{}
	defer sb.discard()
	if err := sbomFiles(&sb, dir, img.Index, img.SBOMs, nil); err != nil {
		return err
	}
	// Swap: move an old layout aside, the new one in, then drop the old one.
	old := ""
	if _, err := os.Stat(dir); err == nil {
		old = tmp + ".old"
		if err := os.Rename(dir, old); err != nil {
			return fmt.Errorf("replace oci:%s: %w", o.Path, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		if old != "" {
			_ = os.Rename(old, dir)
		}
		return fmt.Errorf("write oci:%s: %w", o.Path, err)
	}
	p.tmp = nil
	if old != "" {
		_ = os.RemoveAll(old)
	}
	return sb.commit()
}

// refName is the tag part of name:tag ("latest"), as OCI layouts name their images.
func refName(ref string) string {
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[i+1:]
	}
	return "latest"
}

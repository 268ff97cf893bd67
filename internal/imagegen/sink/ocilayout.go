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

// Check fails early when the layout cannot be written: its parent directory is missing or not
// writable, or the path is a file or a non-empty directory that is not an OCI layout (an
// existing layout is replaced).
func (o *OCILayout) Check(context.Context) error {
	if err := o.replaceable(); err != nil {
		return err
	}
	return checkParent("oci", o.Path)
}

func (o *OCILayout) replaceable() error {
	dir := filepath.Clean(o.Path)
	fi, err := os.Stat(dir)
	if err != nil {
		return nil
	}
	if !fi.IsDir() {
		return fmt.Errorf("oci:%s exists and is not a directory: remove it or pick another path", o.Path)
	}
	if _, err := os.Stat(filepath.Join(dir, "oci-layout")); err != nil {
		if ents, _ := os.ReadDir(dir); len(ents) > 0 {
			return fmt.Errorf("oci:%s is a non-empty directory that is not an OCI layout: refusing to replace it (pick another path)", o.Path)
		}
	}
	return nil
}

// Stage builds the layout in a temporary directory beside Path, and the SBOMs under temporary
// names; Commit swaps the layout in and renames the SBOMs.
func (o *OCILayout) Stage(ctx context.Context, img Image) (_ Staged, err error) {
	if err := o.replaceable(); err != nil {
		return nil, err
	}
	dir := filepath.Clean(o.Path)
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("create oci:%s: %w", o.Path, err)
	}
	st := &stagedLayout{dir: dir, tmp: tmp, sboms: &pending{}}
	defer func() {
		if err != nil {
			st.Discard()
		}
	}()
	lp, err := layout.Write(tmp, empty.Index)
	if err != nil {
		return nil, fmt.Errorf("write oci:%s: %w", o.Path, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var opts []layout.Option
	if len(img.Tags) > 0 {
		opts = append(opts, layout.WithAnnotations(map[string]string{
			"org.opencontainers.image.ref.name": refName(img.Tags[0]),
		}))
	}
	if err := lp.AppendIndex(img.Index, opts...); err != nil {
		return nil, fmt.Errorf("write oci:%s: %w", o.Path, err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, err
	}
	if err := sbomFiles(st.sboms, dir, img.Index, img.SBOMs, nil); err != nil {
		return nil, err
	}
	return st, nil
}

// stagedLayout is a layout written to tmp, to replace dir, and its SBOMs.
type stagedLayout struct {
	dir, tmp string
	sboms    *pending
}

// Commit moves an old layout aside, the new one in, drops the old one, and renames the SBOMs.
func (st *stagedLayout) Commit(ctx context.Context) error {
	old := ""
	if _, err := os.Stat(st.dir); err == nil {
		old = st.tmp + ".old"
		if err := os.Rename(st.dir, old); err != nil {
			st.Discard()
			return fmt.Errorf("replace oci:%s: %w", st.dir, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		st.Discard()
		return err
	}
	if err := os.Rename(st.tmp, st.dir); err != nil {
		if old != "" {
			_ = os.Rename(old, st.dir)
		}
		st.Discard()
		return fmt.Errorf("write oci:%s: %w", st.dir, err)
	}
	st.tmp = ""
	if old != "" {
		_ = os.RemoveAll(old)
	}
	return st.sboms.Commit(ctx)
}

// Discard removes the staged layout and SBOMs.
func (st *stagedLayout) Discard() {
	if st.tmp != "" {
		_ = os.RemoveAll(st.tmp)
		st.tmp = ""
	}
	st.sboms.Discard()
}

// refName is the tag part of name:tag ("latest"), as OCI layouts name their images.
func refName(ref string) string {
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[i+1:]
	}
	return "latest"
}

package layer

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// Modes of the entries a layer holds. The store is read-only and Nix canonicalises it the
// same way: files 0444 (0555 when executable), directories 0555. /nix and /nix/store are 0755
// so that a derived image may add to them.
const (
	modeFile    = 0o444
	modeExec    = 0o555
	modeDir     = 0o555
	modeSymlink = 0o777
	modeParent  = 0o755
)

// tarFormat is the tar format of every entry (part of the cache key as tarFormatName).
const (
	tarFormat     = tar.FormatGNU
	tarFormatName = "gnu"
)

// tarEntry fills the fixed fields of every header: uid/gid 0, no user or group names, mtime =
// epoch, GNU format (long names without PAX records), no xattrs, access or change times.
func tarEntry(name string, typ byte, mode int64, epoch time.Time) *tar.Header {
	return &tar.Header{Name: name, Typeflag: typ, Mode: mode, ModTime: epoch, Format: tarFormat}
}

// writeStoreTar writes /nix, /nix/store and each store path (sorted) as a tar stream. Entries
// come in walk order (names sorted within each directory). Hard links are written as regular
// files: a NAR has none, so links that store optimisation made must not change the bytes.
func writeStoreTar(ctx context.Context, w io.Writer, paths []string, epoch time.Time) error {
	tw := tar.NewWriter(w)
	dirs := map[string]bool{}
	for _, p := range paths {
		for d := path.Dir(p); d != "/" && d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	for _, d := range sortedKeys(dirs) {
		if err := tw.WriteHeader(tarEntry(strings.TrimPrefix(d, "/")+"/", tar.TypeDir, modeParent, epoch)); err != nil {
			return fmt.Errorf("write tar: %w", err)
		}
	}
	for _, root := range paths {
		if !path.IsAbs(root) || path.Clean(root) != root {
			return fmt.Errorf("%q is not a clean absolute store path", root)
		}
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return fmt.Errorf("read store path %s: %w", root, err)
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			return writeEntry(tw, p, d, epoch)
		})
		if err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("write tar: %w", err)
	}
	return nil
}

func writeEntry(tw *tar.Writer, p string, d fs.DirEntry, epoch time.Time) error {
	name := strings.TrimPrefix(p, "/")
	info, err := d.Info()
	if err != nil {
		return fmt.Errorf("stat %s: %w", p, err)
	}
	switch m := info.Mode(); {
	case m.IsDir():
		return header(tw, tarEntry(name+"/", tar.TypeDir, modeDir, epoch))
	case m&fs.ModeSymlink != 0:
		target, err := os.Readlink(p)
		if err != nil {
			return fmt.Errorf("read symlink %s: %w", p, err)
		}
		h := tarEntry(name, tar.TypeSymlink, modeSymlink, epoch)
		h.Linkname = target
		return header(tw, h)
	case m.IsRegular():
		mode := int64(modeFile)
		if m&0o111 != 0 {
			mode = modeExec
		}
		h := tarEntry(name, tar.TypeReg, mode, epoch)
		h.Size = info.Size()
		if err := header(tw, h); err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		defer f.Close()
		n, err := io.Copy(tw, f)
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		if n != info.Size() {
			return fmt.Errorf("read %s: size changed while reading (%d of %d bytes)", p, n, info.Size())
		}
		return nil
	default:
		return fmt.Errorf("%s is a %s: a store path may hold only files, directories and symlinks", p, m.Type())
	}
}

func header(tw *tar.Writer, h *tar.Header) error {
	if err := tw.WriteHeader(h); err != nil {
		return fmt.Errorf("write tar entry %s: %w", h.Name, err)
	}
	return nil
}

package layer

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// CACertsFile is where the customisation layer puts the CA bundle (point SSL_CERT_FILE at it).
const CACertsFile = "/etc/ssl/certs/ca-certificates.crt"

// Customisation is what an image built FROM scratch needs besides its closure: a user, /tmp,
// CA certificates, symlinks such as /bin/app → /nix/store/…/bin/app, and extra files.
type Customisation struct {
	// User runs the container; "" means "nobody" with UID and GID 65534.
	User     string
	UID, GID int
	// Home is the user's home directory; "" means /var/empty (root-owned, read-only). Any
	// other directory is created, owned by the user.
	Home string
	// Symlinks maps absolute link paths to their targets.
	Symlinks map[string]string
	// CACerts is a CA bundle file, or a store path holding etc/ssl/certs/ca-bundle.crt or
	// etc/ssl/certs/ca-certificates.crt; "" adds none.
	CACerts string
	// Files maps absolute paths to contents (mode 0444), e.g. /etc/hosts, /etc/nsswitch.conf.
	Files map[string][]byte
}

// entry is one file system object of the customisation layer.
type entry struct {
	typ      byte
	mode     int64
	uid, gid int
	data     []byte
	link     string
}

// Layer writes the customisation layer: /etc/passwd, /etc/group, /tmp (1777), the CA
// bundle, the symlinks and files, and every parent directory (0755, root).
func (c Customisation) Layer(opts Options) (v1.Layer, error) {
	opts, err := opts.normalized()
	if err != nil {
		return nil, err
	}
	entries, err := c.entries()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, name := range slices.Sorted(maps.Keys(entries)) {
		e := entries[name]
		tname := strings.TrimPrefix(name, "/")
		if e.typ == tar.TypeDir {
			tname += "/"
		}
		h := tarEntry(tname, e.typ, e.mode, opts.Epoch)
		h.Uid, h.Gid, h.Linkname, h.Size = e.uid, e.gid, e.link, int64(len(e.data))
		if err := header(tw, h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, fmt.Errorf("write tar entry %s: %w", name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("write customisation layer: %w", err)
	}
	opts.Cache = nil // small; built each time
	return spill(func(w io.Writer) error { _, err := w.Write(buf.Bytes()); return err }, opts)
}

func (c Customisation) entries() (map[string]*entry, error) {
	user, uid, gid := c.User, c.UID, c.GID
	if user == "" {
		user = "nobody"
		if uid == 0 {
			uid = 65534
		}
		if gid == 0 {
			gid = 65534
		}
	}
	if strings.ContainsAny(user, ":\n/") {
		return nil, fmt.Errorf("user name %q may not contain ':', '/' or a newline", user)
	}
	if uid < 0 || gid < 0 {
		return nil, fmt.Errorf("uid %d / gid %d must not be negative", uid, gid)
	}
	home := c.Home
	out := map[string]*entry{}
	add := func(name string, e *entry) error {
		if !path.IsAbs(name) || path.Clean(name) != name || name == "/" {
			return fmt.Errorf("customisation path %q is not a clean absolute path", name)
		}
		if _, ok := out[name]; ok {
			return fmt.Errorf("customisation path %s is given twice", name)
		}
		out[name] = e
		return nil
	}
	dir := func(mode int64) *entry { return &entry{typ: tar.TypeDir, mode: mode} }
	file := func(data []byte) *entry { return &entry{typ: tar.TypeReg, mode: modeFile, data: data} }

	passwd := "root:x:0:0:root:/root:/sbin/nologin\n"
	group := "root:x:0:\n"
	if uid != 0 || user != "root" {
		if home == "" {
			home = "/var/empty"
		}
		passwd += fmt.Sprintf("%s:x:%d:%d:%s:%s:/sbin/nologin\n", user, uid, gid, user, home)
		if gid != 0 {
			group += fmt.Sprintf("%s:x:%d:\n", user, gid)
		}
	}
	if err := add("/etc/passwd", file([]byte(passwd))); err != nil {
		return nil, err
	}
	if err := add("/etc/group", file([]byte(group))); err != nil {
		return nil, err
	}
	if err := add("/tmp", dir(0o1777)); err != nil {
		return nil, err
	}
	if home == "/var/empty" && c.Home == "" {
		if err := add(home, dir(modeDir)); err != nil {
			return nil, err
		}
	} else if home != "" {
		if err := add(home, &entry{typ: tar.TypeDir, mode: 0o755, uid: uid, gid: gid}); err != nil {
			return nil, err
		}
	}
	if c.CACerts != "" {
		data, err := readCABundle(c.CACerts)
		if err != nil {
			return nil, err
		}
		if err := add(CACertsFile, file(data)); err != nil {
			return nil, err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.Symlinks)) {
		if c.Symlinks[name] == "" {
			return nil, fmt.Errorf("symlink %s has no target", name)
		}
		if err := add(name, &entry{typ: tar.TypeSymlink, mode: modeSymlink, link: c.Symlinks[name]}); err != nil {
			return nil, err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.Files)) {
		if err := add(name, file(c.Files[name])); err != nil {
			return nil, err
		}
	}
	// Parents: directories, 0755 root; a parent that is a file or symlink is an error.
	for _, name := range slices.Sorted(maps.Keys(out)) {
		for d := path.Dir(name); d != "/"; d = path.Dir(d) {
			if e, ok := out[d]; ok {
				if e.typ != tar.TypeDir {
					return nil, fmt.Errorf("customisation path %s is inside %s, which is not a directory", name, d)
				}
				continue
			}
			out[d] = dir(modeParent)
		}
	}
	return out, nil
}

func readCABundle(p string) ([]byte, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("read CA certificates: %w", err)
	}
	if fi.IsDir() {
		for _, rel := range []string{"etc/ssl/certs/ca-bundle.crt", "etc/ssl/certs/ca-certificates.crt"} {
			if data, err := os.ReadFile(filepath.Join(p, rel)); err == nil {
				return data, nil
			}
		}
		return nil, fmt.Errorf("CA certificates: %s holds neither etc/ssl/certs/ca-bundle.crt nor etc/ssl/certs/ca-certificates.crt", p)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("read CA certificates: %w", err)
	}
	return data, nil
}

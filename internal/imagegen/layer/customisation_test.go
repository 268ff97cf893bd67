package layer

import (
	"archive/tar"
	"os"
	"path/filepath"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCustomisationLayer(t *testing.T) {
	dir := t.TempDir()
	bundle := filepath.Join(dir, "ca.crt")
	require.NoError(t, os.WriteFile(bundle, []byte("-----BEGIN CERTIFICATE-----\n"), 0o644))
	storeLike := filepath.Join(dir, "nss-cacert")
	require.NoError(t, os.MkdirAll(filepath.Join(storeLike, "etc/ssl/certs"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(storeLike, "etc/ssl/certs/ca-bundle.crt"), []byte("bundle from a store path\n"), 0o644))
	app := "/nix/store/hhsh84sqv4vcc6q0d69z8m2avq7acjxp-app/bin/app"

	type want struct {
		typ      byte
		mode     int64
		uid, gid int
		data     string
		link     string
	}
	tests := []struct {
		name string
		c    Customisation
		want map[string]want
	}{
		{"defaults: nobody", Customisation{}, map[string]want{
			"etc/":       {typ: tar.TypeDir, mode: 0o755},
			"etc/passwd": {typ: tar.TypeReg, mode: 0o444, data: "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/var/empty:/sbin/nologin\n"},
			"etc/group":  {typ: tar.TypeReg, mode: 0o444, data: "root:x:0:\nnobody:x:65534:\n"},
			"tmp/":       {typ: tar.TypeDir, mode: 0o1777},
			"var/":       {typ: tar.TypeDir, mode: 0o755},
			"var/empty/": {typ: tar.TypeDir, mode: 0o555},
		}},
		{"named user, home, symlinks, CA file, extra files", Customisation{
			User: "swarm", UID: 1000, GID: 1000, Home: "/home/swarm",
			Symlinks: map[string]string{"/bin/app": app, "/usr/bin/env": "/bin/app"},
			CACerts:  bundle,
			Files:    map[string][]byte{"/etc/hosts": []byte("127.0.0.1 localhost\n")},
		}, map[string]want{
			"etc/passwd":                        {typ: tar.TypeReg, mode: 0o444, data: "root:x:0:0:root:/root:/sbin/nologin\nswarm:x:1000:1000:swarm:/home/swarm:/sbin/nologin\n"},
			"etc/group":                         {typ: tar.TypeReg, mode: 0o444, data: "root:x:0:\nswarm:x:1000:\n"},
			"home/":                             {typ: tar.TypeDir, mode: 0o755},
			"home/swarm/":                       {typ: tar.TypeDir, mode: 0o755, uid: 1000, gid: 1000},
			"bin/":                              {typ: tar.TypeDir, mode: 0o755},
			"bin/app":                           {typ: tar.TypeSymlink, mode: 0o777, link: app},
			"usr/":                              {typ: tar.TypeDir, mode: 0o755},
			"usr/bin/":                          {typ: tar.TypeDir, mode: 0o755},
			"usr/bin/env":                       {typ: tar.TypeSymlink, mode: 0o777, link: "/bin/app"},
			"etc/ssl/":                          {typ: tar.TypeDir, mode: 0o755},
			"etc/ssl/certs/":                    {typ: tar.TypeDir, mode: 0o755},
			"etc/ssl/certs/ca-certificates.crt": {typ: tar.TypeReg, mode: 0o444, data: "-----BEGIN CERTIFICATE-----\n"},
			"etc/hosts":                         {typ: tar.TypeReg, mode: 0o444, data: "127.0.0.1 localhost\n"},
			"tmp/":                              {typ: tar.TypeDir, mode: 0o1777},
		}},
		{"root user, CA bundle from a store path", Customisation{User: "root", CACerts: storeLike}, map[string]want{
			"etc/passwd":                        {typ: tar.TypeReg, mode: 0o444, data: "root:x:0:0:root:/root:/sbin/nologin\n"},
			"etc/group":                         {typ: tar.TypeReg, mode: 0o444, data: "root:x:0:\n"},
			"etc/ssl/certs/ca-certificates.crt": {typ: tar.TypeReg, mode: 0o444, data: "bundle from a store path\n"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			epoch := time.Unix(1234, 0)
			l, err := tt.c.Layer(Options{Epoch: epoch})
			require.NoError(t, err)
			entries := readLayer(t, l)
			got := map[string]tarEntryT{}
			var names []string
			for _, e := range entries {
				got[e.hdr.Name] = e
				names = append(names, e.hdr.Name)
				assert.True(t, e.hdr.ModTime.Equal(epoch))
				assert.Empty(t, e.hdr.Uname)
			}
			assert.IsIncreasing(t, names, "sorted entries")
			for name, w := range tt.want {
				e, ok := got[name]
				require.True(t, ok, "%s is in the layer (have %v)", name, names)
				assert.Equal(t, w.typ, e.hdr.Typeflag, name)
				assert.Equal(t, w.mode, e.hdr.Mode, name)
				assert.Equal(t, w.uid, e.hdr.Uid, name)
				assert.Equal(t, w.gid, e.hdr.Gid, name)
				assert.Equal(t, w.data, string(e.data), name)
				assert.Equal(t, w.link, e.hdr.Linkname, name)
			}
			again, err := tt.c.Layer(Options{Epoch: epoch})
			require.NoError(t, err)
			assert.Equal(t, digests(t, []v1.Layer{l}), digests(t, []v1.Layer{again}), "deterministic")
		})
	}
}

func TestCustomisationErrors(t *testing.T) {
	emptyDir := t.TempDir()
	tests := []struct {
		name string
		c    Customisation
		err  string
	}{
		{"relative symlink path", Customisation{Symlinks: map[string]string{"bin/app": "/x"}}, `"bin/app" is not a clean absolute path`},
		{"empty target", Customisation{Symlinks: map[string]string{"/bin/app": ""}}, "has no target"},
		{"file under a symlink", Customisation{Symlinks: map[string]string{"/etc": "/x"}}, "is inside /etc, which is not a directory"},
		{"path twice", Customisation{Symlinks: map[string]string{"/etc/hosts": "/x"}, Files: map[string][]byte{"/etc/hosts": nil}}, "/etc/hosts is given twice"},
		{"passwd overridden", Customisation{Files: map[string][]byte{"/etc/passwd": nil}}, "/etc/passwd is given twice"},
		{"bad user name", Customisation{User: "a:b"}, "may not contain"},
		{"negative uid", Customisation{User: "x", UID: -1}, "must not be negative"},
		{"missing CA bundle", Customisation{CACerts: "/nonexistent/ca.crt"}, "read CA certificates"},
		{"CA dir without bundle", Customisation{CACerts: emptyDir}, "holds neither"},
		{"home is /tmp", Customisation{User: "x", UID: 1, Home: "/tmp"}, "/tmp is given twice"},
		{"root path", Customisation{Files: map[string][]byte{"/": nil}}, "not a clean absolute path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.c.Layer(Options{})
			require.ErrorContains(t, err, tt.err)
		})
	}
}

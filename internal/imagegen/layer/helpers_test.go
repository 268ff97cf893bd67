package layer

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/stretchr/testify/require"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/closure"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

// nixBuild builds an attribute of testdata/store.nix offline and returns its store path.
func nixBuild(t testing.TB, attr string, args ...string) string {
	t.Helper()
	bin := testenv.RequireBinary(t, "nix-build")
	argv := append([]string{"testdata/store.nix", "-A", attr, "--no-out-link", "--option", "substituters", ""}, args...)
	var stderr strings.Builder
	cmd := exec.Command(bin, argv...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "nix-build %s: %s", attr, stderr.String())
	return strings.TrimSpace(string(out))
}

// graphOf reads the closure of roots with nix path-info.
func graphOf(t testing.TB, roots ...string) *closure.Graph {
	t.Helper()
	nix := testenv.RequireBinary(t, "nix")
	g, err := closure.FromNix(context.Background(), nix, roots)
	require.NoError(t, err)
	return g
}

// ffmpegRoot returns the root of the FFmpeg closure fixture (../shared/fixtures beside the
// repository, or $HLS_SWARM_FIXTURES), building it if needed; it skips loudly (fails in CI)
// when the fixture is absent.
func ffmpegRoot(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("HLS_SWARM_FIXTURES")
	if dir == "" {
		wd, err := os.Getwd()
		require.NoError(t, err)
		for d := wd; d != "/"; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
				dir = filepath.Join(d, "..", "shared", "fixtures")
				break
			}
		}
	}
	script := filepath.Join(dir, "ffmpeg-closure", "make-closure.sh")
	if _, err := os.Stat(script); err != nil {
		msg := "the FFmpeg closure fixture is not at " + script + " (set HLS_SWARM_FIXTURES)"
		if testenv.InCI() {
			t.Fatalf("CI needs this: %s", msg)
		}
		t.Logf("\n*** SKIPPING %s: %s ***", t.Name(), msg)
		t.Skip(msg)
	}
	testenv.RequireRoot(t)
	testenv.RequireBinary(t, "patchelf")
	testenv.RequireBinary(t, "ffmpeg")
	// The script shares a work directory between callers (other packages' tests may run it at
	// the same time): hold a lock while it runs, and try again if a concurrent run spoiled it.
	lock, err := os.OpenFile(filepath.Join(os.TempDir(), "hls-swarm-ffmpeg-closure.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	require.NoError(t, err)
	defer lock.Close()
	require.NoError(t, syscall.Flock(int(lock.Fd()), syscall.LOCK_EX))
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck // closing releases it too
	var msg string
	for attempt := 1; attempt <= 3; attempt++ {
		var stderr strings.Builder
		cmd := exec.Command(script)
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err == nil {
			return strings.TrimSpace(string(out))
		}
		msg = fmt.Sprintf("%s (attempt %d): %v: %s", script, attempt, err, stderr.String())
		t.Log(msg)
		time.Sleep(time.Duration(attempt) * time.Second)
	}
	t.Fatal(msg)
	return ""
}

// tarEntryT is one entry of a layer as read back.
type tarEntryT struct {
	hdr  *tar.Header
	data []byte
}

// readLayer validates l with ggcr (digest, diffID and size match the bytes) and returns its entries.
func readLayer(t testing.TB, l v1.Layer) []tarEntryT {
	t.Helper()
	if mt, _ := l.MediaType(); mt == types.OCILayer {
		require.NoError(t, validate.Layer(l), "ggcr validate.Layer")
	}
	// ggcr's validate reads gzip only: check the hashes of both streams for every compression.
	sum := func(open func() (io.ReadCloser, error)) (v1.Hash, int64) {
		rc, err := open()
		require.NoError(t, err)
		defer rc.Close()
		h, n, err := v1.SHA256(rc)
		require.NoError(t, err)
		return h, n
	}
	digest, size := sum(l.Compressed)
	diffID, _ := sum(l.Uncompressed)
	wantDigest, _ := l.Digest()
	wantDiffID, _ := l.DiffID()
	wantSize, _ := l.Size()
	require.Equal(t, wantDigest, digest, "Digest() is the sha256 of Compressed()")
	require.Equal(t, wantDiffID, diffID, "DiffID() is the sha256 of Uncompressed()")
	require.Equal(t, wantSize, size, "Size() is the length of Compressed()")
	rc, err := l.Uncompressed()
	require.NoError(t, err)
	defer rc.Close()
	tr := tar.NewReader(rc)
	var out []tarEntryT
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		require.NoError(t, err)
		var buf bytes.Buffer
		_, err = io.Copy(&buf, tr)
		require.NoError(t, err)
		out = append(out, tarEntryT{hdr: h, data: buf.Bytes()})
	}
}

func digests(t testing.TB, ls []v1.Layer) []string {
	t.Helper()
	var out []string
	for _, l := range ls {
		d, err := l.Digest()
		require.NoError(t, err)
		out = append(out, d.String())
	}
	return out
}

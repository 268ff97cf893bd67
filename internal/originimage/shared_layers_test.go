package originimage

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/imagegentest"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

// uploadCounter is a reverse proxy in front of a registry that counts the bytes of every blob
// upload request body (POST/PATCH/PUT under /blobs/uploads/): what a push really sent, counted
// outside imagegen.
type uploadCounter struct {
	bytes atomic.Int64
	srv   *httptest.Server
}

func newUploadCounter(t *testing.T, registry string) *uploadCounter {
	target, err := url.Parse("http://" + registry)
	if err != nil {
		t.Fatal(err)
	}
	c := &uploadCounter{}
	proxy := httputil.NewSingleHostReverseProxy(target)
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/blobs/uploads/") && r.Body != nil {
			r.Body = countingBody{ReadCloser: r.Body, n: &c.bytes}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *uploadCounter) host() string { return strings.TrimPrefix(c.srv.URL, "http://") }

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// TestSharedLayersPush is issue 8's "done when" 6: the swarm-client image (swarm + FFmpeg) and
// the test-origin image (swarm + FFmpeg + nginx) share every layer of their common closure, so
// pushing test-origin after swarm-client uploads at most its own new blobs (+1 %), as counted by
// a proxy in front of a loopback registry. Both go to one repository (a registry finds a blob
// only in the repository it was pushed to, unless the client mounts it across repositories).
func TestSharedLayersPush(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the FFmpeg and nginx closures and pushes two 250 MB images")
	}
	swarmRoot := imagegentest.SwarmClosure(t, "amd64")
	ffmpegRoot := imagegentest.FFmpegClosure(t)
	nginxRoot := imagegentest.NginxClosure(t)
	repo := imagegentest.RepoRoot(t)
	imagegen := imagegentest.Imagegen(t)
	counter := newUploadCounter(t, testenv.Registry(t))
	cache := t.TempDir()
	push := func(specName, tag string, roots ...string) (v1.Image, int64) {
		t.Helper()
		ref := counter.host() + "/" + app + ":" + tag
		args := []string{"build", "-q", "--no-sbom", "--spec", filepath.Join(repo, "profiles", "images", specName+".json")}
		for _, r := range roots {
			args = append(args, "--root", "amd64="+r)
		}
		cmd := exec.Command(imagegen, append(args, "--output", "registry:"+ref)...)
		cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+cache)
		before := counter.bytes.Load()
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("imagegen build %s: %v\n%s", specName, err, b)
		}
		uploaded := counter.bytes.Load() - before
		r, err := name.ParseReference(ref)
		if err != nil {
			t.Fatal(err)
		}
		img, err := remote.Image(r)
		if err != nil {
			t.Fatalf("read back %s: %v", ref, err)
		}
		return img, uploaded
	}
	blobs := func(img v1.Image) map[v1.Hash]int64 {
		m, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		out := map[v1.Hash]int64{m.Config.Digest: m.Config.Size}
		for _, l := range m.Layers {
			out[l.Digest] = l.Size
		}
		return out
	}

	client, clientUp := push("swarm-client", "swarm-client", swarmRoot, ffmpegRoot)
	origin, originUp := push("test-origin", "test-origin", swarmRoot, ffmpegRoot, nginxRoot)
	cb, ob := blobs(client), blobs(origin)
	var own, shared int64
	var newLayers []string
	for d, size := range ob {
		if _, ok := cb[d]; ok {
			shared += size
		} else {
			own += size
			newLayers = append(newLayers, fmt.Sprintf("%s (%d B)", d.Hex[:12], size))
		}
	}
	cm, _ := client.Manifest()
	om, _ := origin.Manifest()
	t.Logf("swarm-client: %d layers, pushed %d B; test-origin: %d layers, %d B shared with swarm-client, %d B its own (%d blobs: %v); its push uploaded %d B",
		len(cm.Layers), clientUp, len(om.Layers), shared, own, len(newLayers), newLayers, originUp)
	// Every layer of swarm-client but its customisation layer (the top one: /bin links and
	// passwd differ) is in test-origin: the swarm and FFmpeg layers are the same blobs.
	for _, l := range cm.Layers[:len(cm.Layers)-1] {
		if _, ok := ob[l.Digest]; !ok {
			t.Errorf("swarm-client layer %s (%d B) is not in test-origin", l.Digest, l.Size)
		}
	}
	if limit := own + own/100; originUp > limit {
		t.Errorf("pushing test-origin after swarm-client uploaded %d B, more than its own new blobs %d B + 1 %%", originUp, own)
	}
	if originUp < own {
		t.Errorf("the proxy counted %d B for test-origin, less than its new blobs (%d B): the count is wrong", originUp, own)
	}
}

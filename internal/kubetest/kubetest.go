// Package kubetest gives tests a real single-node Kubernetes (scripts/k8s/cluster.sh: etcd, the
// control plane, containerd and a kubelet, built from the Go module proxy by scripts/k8s/build.sh
// and cached per machine), with images imported from imagegen-built docker-archives, torn down
// with everything it made when the test ends.
package kubetest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/imagegentest"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

// Cluster is a running cluster.
type Cluster struct {
	Dir        string // everything it keeps: logs/, pki/, containerd/, kubelet/ …
	Kubeconfig string
	kubectl    string
}

// Image builds an image for amd64 from store-path roots with the imagegen CLI (spec and extra
// flags as for `imagegen build`) and returns its docker-archive tarball, named NAME:TAG.
func Image(t testing.TB, args ...string) string {
	t.Helper()
	tar := filepath.Join(t.TempDir(), "image.tar")
	cmd := exec.Command(imagegentest.Imagegen(t), append(append([]string{"build", "-q", "--no-sbom"}, args...),
		"--output", "docker-archive:"+tar)...)
	cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+t.TempDir()) // the default layer cache, not the user's
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("imagegen build %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	return tar
}

// PauseImage builds the cluster's pod sandbox image (internal/kubetest/pause) with imagegen.
func PauseImage(t testing.TB) string {
	t.Helper()
	root := imagegentest.StoreClosure(t, imagegentest.GoBuild(t, "./internal/kubetest/pause", "amd64"), "pause", "")
	return Image(t, "--name", "go-ffmpeg-hls-swarm-pause", "--tag", "k8s", "--root", "amd64="+root,
		"--entrypoint", `["/bin/pause"]`, "--healthcheck", "none")
}

// Start builds or reuses the Kubernetes binaries (a cold build takes ~8 min on 2 cores),
// starts a cluster whose containerd holds the given docker-archive images, and waits until its
// node is Ready. Root only; a missing part skips, or fails under CI.
func Start(t testing.TB, images ...string) *Cluster {
	t.Helper()
	testenv.RequireRoot(t)
	for _, b := range []string{"containerd", "ctr", "runc", "openssl", "jq", "iptables", "go"} {
		testenv.RequireBinary(t, b)
	}
	if _, err := os.Stat("/usr/lib/cni/bridge"); err != nil {
		testenv.SkipOrFail(t, "the CNI plugins are not installed (containernetworking-plugins)")
	}
	script := filepath.Join(imagegentest.RepoRoot(t), "scripts", "k8s", "cluster.sh")
	pause := PauseImage(t)
	dir, err := os.MkdirTemp("", "hls-swarm-k8s-")
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{Dir: dir, Kubeconfig: filepath.Join(dir, "kubeconfig"), kubectl: filepath.Join(dir, "bin", "kubectl")}
	hostPaths := []string{"/var/lib/kubelet", "/var/log/pods", "/var/log/containers", "/etc/kubernetes"}
	existed := map[string]bool{}
	for _, p := range hostPaths {
		_, err := os.Stat(p)
		existed[p] = err == nil
	}
	t.Cleanup(func() {
		start := time.Now()
		if b, err := exec.Command(script, "down", dir).CombinedOutput(); err != nil {
			t.Errorf("cluster.sh down %s: %v\n%s", dir, err, b)
		}
		t.Logf("cluster down in %s", time.Since(start).Round(100*time.Millisecond))
		// Nothing of it is left: no process, no mount, no bridge, no host path it made, no DIR.
		for _, p := range testenv.Procs() {
			if cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p.PID)); bytes.Contains(cmd, []byte(dir)) {
				t.Errorf("left running after cluster.sh down: pid %d %s", p.PID, bytes.ReplaceAll(cmd, []byte{0}, []byte{' '}))
			}
		}
		if mounts, _ := os.ReadFile("/proc/mounts"); bytes.Contains(mounts, []byte(dir)) {
			t.Errorf("mounts below %s left after cluster.sh down", dir)
		}
		for _, p := range append(hostPaths, dir, "/sys/class/net/hlsk8s0") {
			if _, err := os.Stat(p); err == nil && !existed[p] {
				t.Errorf("%s left after cluster.sh down", p)
			}
		}
	})
	args := []string{"up", dir, "--pause", pause}
	for _, img := range images {
		args = append(args, "--image", img)
	}
	start := time.Now()
	cmd := exec.Command(script, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("cluster.sh up: %v\n%s\n%s", err, out.String(), c.LogTails())
	}
	t.Logf("cluster up in %s (binaries built or reused, images imported)", time.Since(start).Round(100*time.Millisecond))
	return c
}

// Kubectl runs the cluster's kubectl (built with it, the same version) and returns its stdout;
// a non-zero exit is an error holding stderr.
func (c *Cluster) Kubectl(args ...string) (string, error) {
	return c.KubectlStdin(nil, args...)
}

// KubectlStdin is Kubectl with stdin.
func (c *Cluster) KubectlStdin(stdin []byte, args ...string) (string, error) {
	cmd := exec.Command(c.kubectl, append([]string{"--kubeconfig", c.Kubeconfig}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("kubectl %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// MustKubectl is Kubectl that fails the test on error.
func (c *Cluster) MustKubectl(t testing.TB, args ...string) string {
	t.Helper()
	out, err := c.Kubectl(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// LogTails is the last lines of every component's log (etcd, apiserver, containerd, kubelet …),
// for a failure message.
func (c *Cluster) LogTails() string {
	var b strings.Builder
	logs, _ := filepath.Glob(filepath.Join(c.Dir, "logs", "*.log"))
	for _, l := range logs {
		data, err := os.ReadFile(l)
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if len(lines) > 15 {
			lines = lines[len(lines)-15:]
		}
		fmt.Fprintf(&b, "== %s\n%s\n", filepath.Base(l), strings.Join(lines, "\n"))
	}
	return b.String()
}

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/imagegentest"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/sign"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

// TestSignedPush is issue 8's "done when" 5: an image pushed with --sign-key (a key from
// cosign generate-key-pair) and its SBOM referrer are accepted by cosign verify --key, offline
// (no transparency log); a tampered manifest is rejected, whether the tag points at it or the
// genuine signature is copied to it.
func TestSignedPush(t *testing.T) {
	cosign := testenv.RequireBinary(t, "cosign")
	root := imagegentest.FixedClosure(t)
	keys := t.TempDir()
	t.Setenv(sign.PasswordEnv, "imagegen-test")
	gen := exec.Command(cosign, "generate-key-pair")
	gen.Dir = keys
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("cosign generate-key-pair: %v\n%s", err, out)
	}
	pub := filepath.Join(keys, "cosign.pub")
	repoName := testenv.Registry(t) + "/imagegen/fixed"
	ref := repoName + ":v1"

	// Mistakes: one line, exit 1, before anything is built or pushed.
	args := []string{"build", "-q", "--name", "fixed", "--entrypoint", "/bin/imagegen-fixed", "--root", root,
		"--sign-key", filepath.Join(keys, "cosign.key")}
	oci := filepath.Join(t.TempDir(), "oci")
	if code, _, stderr := run(t, append(args, "-o", "oci:"+oci)...); code != 1 || !strings.Contains(stderr, "there is no registry: output") {
		t.Fatalf("--sign-key without a registry output: %d %q", code, stderr)
	}
	t.Setenv(sign.PasswordEnv, "wrong")
	if code, _, stderr := run(t, append(args, "-o", "registry:"+ref)...); code != 1 || !strings.Contains(stderr, "set "+sign.PasswordEnv) ||
		strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Fatalf("wrong password: %d %q", code, stderr)
	}
	if _, err := remote.Head(mustRef(t, ref)); err == nil {
		t.Fatalf("%s was pushed although the key could not be read", ref)
	}
	t.Setenv(sign.PasswordEnv, "imagegen-test")
	code, out, stderr := run(t, "build", "-q", "--name", "fixed", "--entrypoint", "/bin/imagegen-fixed", "--root", root,
		"--sign-key", filepath.Join(keys, "cosign.key"), "-o", "registry:"+ref)
	if code != 0 {
		t.Fatalf("build: %d %q", code, stderr)
	}
	index := strings.TrimSpace(out)

	verify := func(target string) (string, error) {
		cmd := exec.Command(cosign, "verify", "--key", pub, "--insecure-ignore-tlog=true", "--allow-http-registry", target)
		cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "TUF_ROOT="+t.TempDir())
		b, err := cmd.CombinedOutput()
		return string(b), err
	}
	if out, err := verify(ref); err != nil || !strings.Contains(out, index) {
		t.Fatalf("cosign verify %s: %v\n%s", ref, err, out)
	}

	// The SBOM referrer of the platform manifest, found through the referrers API.
	repo, err := name.NewRepository(repoName)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(repo.Tag("v1"))
	if err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	platform := im.Manifests[0].Digest
	refs, err := remote.Referrers(repo.Digest(platform.String()))
	if err != nil {
		t.Fatal(err)
	}
	rm, _ := refs.IndexManifest()
	if len(rm.Manifests) != 1 || rm.Manifests[0].ArtifactType != "application/spdx+json" {
		t.Fatalf("referrers of %s: %+v", platform, rm.Manifests)
	}
	sbomRef := repoName + "@" + rm.Manifests[0].Digest.String()
	if out, err := verify(sbomRef); err != nil {
		t.Fatalf("cosign verify the SBOM referrer %s: %v\n%s", sbomRef, err, out)
	}
	if out, err := verify(repoName + "@" + platform.String()); err != nil {
		t.Fatalf("cosign verify the platform manifest: %v\n%s", err, out)
	}

	// Tampered: the platform image with one more label, pushed under the signed tag.
	img, err := remote.Image(repo.Digest(platform.String()))
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.Config.Labels["tampered"] = "yes"
	bad, err := mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(repo.Tag("v1"), bad); err != nil {
		t.Fatal(err)
	}
	badDigest, _ := bad.Digest()
	if out, err := verify(ref); err == nil {
		t.Fatalf("cosign verify accepted the tampered manifest %s:\n%s", badDigest, out)
	}
	// The genuine signature copied to the tampered manifest's signature tag: its payload names
	// another digest.
	genuine, err := remote.Image(sign.Tag(repo, platform))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(sign.Tag(repo, badDigest), genuine); err != nil {
		t.Fatal(err)
	}
	if out, err := verify(repoName + "@" + badDigest.String()); err == nil {
		t.Fatalf("cosign verify accepted a copied signature on the tampered manifest:\n%s", out)
	} else {
		t.Logf("tampered manifest rejected: %s", lastLine(out))
	}
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

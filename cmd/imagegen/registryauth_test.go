package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/imagegentest"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

// imagegenBinary builds this command, so a test can run it with its own environment (HOME,
// DOCKER_CONFIG, SSL_CERT_FILE are read once per process).
func imagegenBinary(t *testing.T) string {
	t.Helper()
	goBin := testenv.RequireBinary(t, "go")
	out := filepath.Join(t.TempDir(), "imagegen")
	cmd := exec.Command(goBin, "build", "-o", out, ".")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build imagegen: %v\n%s", err, b)
	}
	return out
}

// runEnv runs the imagegen binary with env added to a minimal environment.
func runEnv(t *testing.T, bin string, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), o.String(), e.String()
	}
	if err != nil {
		t.Fatalf("run imagegen: %v", err)
	}
	return 0, o.String(), e.String()
}

// TestAuthenticatedRegistries pushes to real Distribution registries that require basic auth
// over TLS, and Bearer tokens from a token service: with the credentials in a Docker
// config.json the push succeeds (and crane, reading the same config, finds the digest); without
// them, or with a wrong password, imagegen fails before building with one line naming the
// registry and `docker login`, exit 1, and the registry holds nothing.
func TestAuthenticatedRegistries(t *testing.T) {
	if testing.Short() {
		t.Skip("starts docker-registry twice")
	}
	crane := testenv.RequireBinary(t, "crane")
	bin := imagegenBinary(t)
	root := imagegentest.FixedClosure(t)
	for _, tc := range []struct {
		name string
		auth testenv.RegistryAuth
	}{{"basic over TLS", testenv.BasicAuth}, {"bearer token", testenv.TokenAuth}} {
		t.Run(tc.name, func(t *testing.T) {
			reg := testenv.DistributionRegistry(t, tc.auth)
			home := t.TempDir()
			ref := reg.Addr + "/imagegen/fixed:v1"
			build := []string{"build", "-q", "--name", "fixed", "--entrypoint", "/bin/imagegen-fixed", "--root", root, "-o", "registry:" + ref}
			env := func(dockerConfig string) []string {
				return []string{"HOME=" + home, "DOCKER_CONFIG=" + dockerConfig, "SSL_CERT_FILE=" + reg.CAFile}
			}
			oneLine := func(what, stderr, want string) {
				t.Helper()
				if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "imagegen: ") || !strings.Contains(stderr, want) {
					t.Fatalf("%s: stderr = %q, want one line containing %q", what, stderr, want)
				}
			}
			noCreds := t.TempDir()
			wrong := testenv.DockerConfig(t, map[string]string{reg.Addr: reg.User + ":wrong"})
			good := testenv.DockerConfig(t, map[string]string{reg.Addr: reg.User + ":" + reg.Password})

			code, _, stderr := runEnv(t, bin, env(noCreds), build...)
			if code != 1 {
				t.Fatalf("push without credentials: exit %d, stderr %q", code, stderr)
			}
			oneLine("no credentials", stderr, "registry "+reg.Addr+" refused to push to "+reg.Addr+"/imagegen/fixed without credentials")
			oneLine("no credentials", stderr, "`docker login "+reg.Addr+"`")
			t.Logf("without credentials: %s", stderr)

			code, _, stderr = runEnv(t, bin, env(wrong), build...)
			if code != 1 {
				t.Fatalf("push with a wrong password: exit %d, stderr %q", code, stderr)
			}
			oneLine("wrong password", stderr, "with the credentials imagegen found for it")
			oneLine("wrong password", stderr, filepath.Join(wrong, "config.json"))
			t.Logf("wrong password: %s", stderr)

			// Its certificate is not trusted without the test CA (SSL_CERT_FILE).
			code, _, stderr = runEnv(t, bin, []string{"HOME=" + home, "DOCKER_CONFIG=" + good}, build...)
			if code != 1 {
				t.Fatalf("push to an untrusted certificate: exit %d, stderr %q", code, stderr)
			}
			oneLine("untrusted certificate", stderr, "registry "+reg.Addr+": its TLS certificate is not trusted (tls: failed to verify certificate: x509: certificate signed by unknown authority)")

			code, _, stderr = runEnv(t, bin, env(noCreds), "inspect", "--no-contents", ref)
			if code != 1 {
				t.Fatalf("inspect without credentials: exit %d, stderr %q", code, stderr)
			}
			oneLine("inspect without credentials", stderr, "`docker login "+reg.Addr+"`")

			// Nothing was pushed by the refused attempts.
			craneEnv := append(os.Environ(), "DOCKER_CONFIG="+good, "SSL_CERT_FILE="+reg.CAFile)
			cmd := exec.Command(crane, "ls", reg.Addr+"/imagegen/fixed")
			cmd.Env = craneEnv
			if b, err := cmd.CombinedOutput(); err == nil && strings.TrimSpace(string(b)) != "" {
				t.Fatalf("refused pushes left tags: %s", b)
			}

			code, stdout, stderr := runEnv(t, bin, env(good), build...)
			if code != 0 {
				logb, _ := os.ReadFile(reg.LogFile)
				t.Fatalf("push with credentials: exit %d, stderr %q\nregistry log:\n%s", code, stderr, logb)
			}
			digest := strings.TrimSpace(stdout)
			cmd = exec.Command(crane, "digest", ref)
			cmd.Env = craneEnv
			if b, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(b)) != digest {
				t.Fatalf("crane digest %s = %q (%v), imagegen printed %s", ref, b, err, digest)
			}
			code, stdout, stderr = runEnv(t, bin, env(good), "inspect", "--no-contents", ref)
			if code != 0 || !strings.Contains(stdout, digest) {
				t.Fatalf("inspect with credentials: exit %d, stdout %q, stderr %q", code, stdout, stderr)
			}
			// A credential helper (credHelpers in config.json → docker-credential-NAME on PATH)
			// gives the same credentials, as `docker login` with a helper would have stored them.
			helperDir := t.TempDir()
			helper := "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nserver=$(cat)\nprintf '{\"ServerURL\":\"%s\",\"Username\":\"" + reg.User + "\",\"Secret\":\"" + reg.Password + "\"}' \"$server\"\n"
			if err := os.WriteFile(filepath.Join(helperDir, "docker-credential-imagegentest"), []byte(helper), 0o755); err != nil {
				t.Fatal(err)
			}
			helperCfg := t.TempDir()
			if err := os.WriteFile(filepath.Join(helperCfg, "config.json"), []byte(`{"credHelpers":{"`+reg.Addr+`":"imagegentest"}}`), 0o600); err != nil {
				t.Fatal(err)
			}
			viaHelper := []string{"build", "-q", "--name", "fixed", "--entrypoint", "/bin/imagegen-fixed", "--root", root, "-o", "registry:" + reg.Addr + "/imagegen/fixed:v2"}
			cmd = exec.Command(bin, viaHelper...)
			cmd.Env = append(env(helperCfg), "PATH="+helperDir+":"+os.Getenv("PATH"))
			if b, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(b)) != digest {
				t.Fatalf("push with a credential helper: %v: %s", err, b)
			}
			// The registry's own log has the manifest PUTs of the authenticated user.
			logb, _ := os.ReadFile(reg.LogFile)
			if !regexp.MustCompile(`"PUT /v2/imagegen/fixed/manifests/v1 HTTP/[0-9.]+" 201 `).Match(logb) ||
				!regexp.MustCompile(`"PUT /v2/imagegen/fixed/manifests/v2 HTTP/[0-9.]+" 201 `).Match(logb) {
				t.Fatalf("registry log has no accepted manifest PUT for v1:\n%s", logb)
			}
			t.Logf("pushed %s to %s (%s)", digest, ref, tc.name)
		})
	}
}

// TestPushProgressLines reads a push's progress from imagegen's non-terminal stderr: the total
// is the same on every line, the bytes and percentages only rise, and the last line is 100 %.
func TestPushProgressLines(t *testing.T) {
	bin := imagegenBinary(t)
	root := imagegentest.FixedClosure(t)
	ref := testenv.Registry(t) + "/progress/fixed:v1"
	code, _, stderr := runEnv(t, bin, []string{"HOME=" + t.TempDir()}, "build", "--name", "fixed", "--entrypoint", "/bin/imagegen-fixed",
		"--root", root, "--max-layers", "3", "-o", "registry:"+ref)
	if code != 0 {
		t.Fatalf("build: exit %d: %s", code, stderr)
	}
	re := regexp.MustCompile(`^push ` + regexp.QuoteMeta(ref) + `: (\d+)% \((\d+) of (\d+) bytes\)$`)
	var n int
	var total, prevCur int64 = -1, -1
	prevPct := -1
	for _, l := range strings.Split(stderr, "\n") {
		if !strings.HasPrefix(l, "push ") {
			continue
		}
		m := re.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("unexpected progress line %q", l)
		}
		pct, _ := strconv.Atoi(m[1])
		cur, _ := strconv.ParseInt(m[2], 10, 64)
		tot, _ := strconv.ParseInt(m[3], 10, 64)
		if total == -1 {
			total = tot
		}
		if tot != total || pct < prevPct || cur < prevCur {
			t.Fatalf("line %q after %d%% / %d of %d bytes:\n%s", l, prevPct, prevCur, total, stderr)
		}
		prevPct, prevCur, n = pct, cur, n+1
	}
	if n == 0 || prevPct != 100 || prevCur != total {
		t.Fatalf("push progress did not end at 100 %% (%d lines):\n%s", n, stderr)
	}
	t.Logf("%d push lines, total %d bytes on each", n, total)
}

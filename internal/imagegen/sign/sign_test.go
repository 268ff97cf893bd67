package sign

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

func writePEM(t *testing.T, typ string, der []byte) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestLoadKey(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(ec)
	sec1, _ := x509.MarshalECPrivateKey(ec)
	for name, f := range map[string]string{"PKCS#8": writePEM(t, "PRIVATE KEY", pkcs8), "SEC 1": writePEM(t, "EC PRIVATE KEY", sec1)} {
		s, err := LoadKey(f, nil)
		if err != nil || !s.key.Equal(ec) {
			t.Errorf("%s key: %v", name, err)
		}
	}
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsaDER, _ := x509.MarshalPKCS8PrivateKey(rsaKey)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p384DER, _ := x509.MarshalPKCS8PrivateKey(p384)
	notPEM := filepath.Join(t.TempDir(), "x")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ file, want string }{
		{writePEM(t, "PRIVATE KEY", rsaDER), "is not an ECDSA P-256 key"},
		{writePEM(t, "PRIVATE KEY", p384DER), "is not an ECDSA P-256 key"},
		{writePEM(t, "CERTIFICATE", []byte{1}), `holds a "CERTIFICATE"`},
		{notPEM, "is not PEM"},
		{filepath.Join(t.TempDir(), "missing"), "no such file"},
	} {
		_, err := LoadKey(tt.file, nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("LoadKey(%s) = %v, want one line with %q", tt.file, err, tt.want)
		}
	}
}

// TestCosignKey reads a key made by cosign itself (encrypted with scrypt + secretbox).
func TestCosignKey(t *testing.T) {
	cosign := testenv.RequireBinary(t, "cosign")
	dir := t.TempDir()
	cmd := exec.Command(cosign, "generate-key-pair")
	cmd.Dir, cmd.Env = dir, append(os.Environ(), PasswordEnv+"=secret")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cosign generate-key-pair: %v\n%s", err, out)
	}
	s, err := LoadKey(filepath.Join(dir, "cosign.key"), []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := s.PublicKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(filepath.Join(dir, "cosign.pub"))
	if strings.TrimSpace(string(pub)) != strings.TrimSpace(string(want)) {
		t.Fatalf("public key %s, cosign.pub %s", pub, want)
	}
	if _, err := LoadKey(filepath.Join(dir, "cosign.key"), []byte("wrong")); err == nil || !strings.Contains(err.Error(), PasswordEnv) {
		t.Fatalf("wrong password: %v", err)
	}
}

func TestSignature(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	s := &Signer{key: ec}
	repo, _ := name.NewRepository("127.0.0.1:5000/app")
	digest, _ := v1.NewHash("sha256:" + strings.Repeat("ab", 32))
	img, err := s.Signature(repo, digest)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := img.Manifest()
	if len(m.Layers) != 1 || m.Layers[0].MediaType != PayloadMediaType || m.MediaType != "application/vnd.oci.image.manifest.v1+json" {
		t.Fatalf("manifest %+v", m)
	}
	layers, _ := img.Layers()
	rc, _ := layers[0].Compressed()
	body, _ := io.ReadAll(rc)
	var p payload
	if err := json.Unmarshal(body, &p); err != nil || p.Critical.Image.DockerManifestDigest != digest.String() ||
		p.Critical.Identity.DockerReference != "127.0.0.1:5000/app" || p.Critical.Type != "cosign container image signature" {
		t.Fatalf("payload %s (%v)", body, err)
	}
	sig, err := base64.StdEncoding.DecodeString(m.Layers[0].Annotations[SignatureAnnotation])
	sum := sha256.Sum256(body)
	if err != nil || !ecdsa.VerifyASN1(&ec.PublicKey, sum[:], sig) {
		t.Fatalf("the signature does not verify (%v)", err)
	}
	if got := Tag(repo, digest).String(); got != "127.0.0.1:5000/app:sha256-"+digest.Hex+".sig" {
		t.Fatalf("tag %s", got)
	}
}

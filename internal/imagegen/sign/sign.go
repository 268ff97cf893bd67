// Package sign signs pushed images the way `cosign verify --key` checks them: a simple-signing
// payload naming the manifest digest, signed with an ECDSA P-256 key, pushed as the image
// `sha256-<digest>.sig` in the same repository (cosign's tag-based signatures).
package sign

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
)

// Media type and annotation of a cosign signature layer.
const (
	PayloadMediaType    types.MediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
	SignatureAnnotation                 = "dev.cosignproject.cosign/signature"
)

// PasswordEnv is where the password of an encrypted key comes from, as for cosign.
const PasswordEnv = "COSIGN_PASSWORD"

// Signer signs manifest digests with one key.
type Signer struct {
	key *ecdsa.PrivateKey
}

// LoadKey reads a signing key: cosign's encrypted key ("ENCRYPTED SIGSTORE PRIVATE KEY", from
// `cosign generate-key-pair`, decrypted with password), or an unencrypted PEM ECDSA P-256 key
// ("PRIVATE KEY" PKCS#8 or "EC PRIVATE KEY"). Each failure is one line naming the file.
func LoadKey(path string, password []byte) (*Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("signing key %s is not PEM: use a key from `cosign generate-key-pair` or a PEM ECDSA P-256 key", path)
	}
	var key any
	switch block.Type {
	case "ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY":
		der, derr := encrypted.Decrypt(block.Bytes, password)
		if derr != nil {
			return nil, fmt.Errorf("signing key %s: cannot decrypt it (%v): set %s to its password", path, derr, PasswordEnv)
		}
		key, err = x509.ParsePKCS8PrivateKey(der)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("signing key %s holds a %q: use a key from `cosign generate-key-pair` or a PEM ECDSA P-256 key", path, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, fmt.Errorf("signing key %s is not an ECDSA P-256 key: make one with `cosign generate-key-pair`", path)
	}
	return &Signer{key: ec}, nil
}

// PublicKeyPEM is the public key in the PEM form `cosign verify --key` reads.
func (s *Signer) PublicKeyPEM() ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(&s.key.PublicKey)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// payload is the simple-signing document cosign signs and checks: the digest it covers and the
// repository it was pushed to.
type payload struct {
	Critical struct {
		Identity struct {
			DockerReference string `json:"docker-reference"`
		} `json:"identity"`
		Image struct {
			DockerManifestDigest string `json:"docker-manifest-digest"`
		} `json:"image"`
		Type string `json:"type"`
	} `json:"critical"`
	Optional map[string]string `json:"optional"`
}

// Payload is the simple-signing payload for digest in repo.
func Payload(repo name.Repository, digest v1.Hash) ([]byte, error) {
	var p payload
	p.Critical.Identity.DockerReference = repo.Name()
	p.Critical.Image.DockerManifestDigest = digest.String()
	p.Critical.Type = "cosign container image signature"
	return json.Marshal(p)
}

// Signature is the signature image of digest in repo: one layer, the payload, annotated with
// its ECDSA signature (ASN.1, base64) over the payload's SHA-256.
func (s *Signer) Signature(repo name.Repository, digest v1.Hash) (v1.Image, error) {
	body, err := Payload(repo, digest)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	sig, err := ecdsa.SignASN1(rand.Reader, s.key, sum[:])
	if err != nil {
		return nil, fmt.Errorf("sign %s: %w", digest, err)
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	return mutate.Append(img, mutate.Addendum{
		Layer:       static.NewLayer(body, PayloadMediaType),
		Annotations: map[string]string{SignatureAnnotation: base64.StdEncoding.EncodeToString(sig)},
	})
}

// Tag is where cosign looks for the signatures of digest: sha256-<hex>.sig in repo.
func Tag(repo name.Repository, digest v1.Hash) name.Tag {
	return repo.Tag(digest.Algorithm + "-" + digest.Hex + ".sig")
}

// Push signs digest and pushes the signature to its tag (replacing signatures there).
func (s *Signer) Push(ctx context.Context, repo name.Repository, digest v1.Hash, opts ...remote.Option) error {
	img, err := s.Signature(repo, digest)
	if err != nil {
		return err
	}
	if err := remote.Write(Tag(repo, digest), img, append(opts, remote.WithContext(ctx))...); err != nil {
		return fmt.Errorf("push the signature of %s: %w", digest, err)
	}
	return nil
}

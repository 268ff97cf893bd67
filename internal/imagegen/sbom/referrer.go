// Package sbom describes an image's Nix closure as an SPDX 2.3 JSON document (name and version
// from each store path, narHash as checksum) and wraps it as an OCI referrer of the image.
package sbom

import (
	"bytes"
	"encoding/json"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Media types of an SBOM attached as an OCI 1.1 referrer.
const (
	MediaType      types.MediaType = "application/spdx+json"
	emptyMediaType types.MediaType = "application/vnd.oci.empty.v1+json"
)

// Referrer is an OCI artifact manifest carrying one SPDX document, whose subject is the image
// it describes: registries list it under /v2/<repo>/referrers/<image digest>.
type Referrer struct {
	manifest []byte
	// Blobs are the artifact's config ("{}") and the document, to upload before the manifest.
	Blobs []v1.Layer
}

// NewReferrer wraps doc in an artifact manifest pointing at subject.
func NewReferrer(doc []byte, subject v1.Descriptor) (*Referrer, error) {
	cfg := static.NewLayer([]byte("{}"), emptyMediaType)
	body := static.NewLayer(doc, MediaType)
	cd, err := describe(cfg, emptyMediaType)
	if err != nil {
		return nil, err
	}
	bd, err := describe(body, MediaType)
	if err != nil {
		return nil, err
	}
	bd.Annotations = map[string]string{"org.opencontainers.image.title": "sbom.spdx.json"}
	subj := v1.Descriptor{MediaType: subject.MediaType, Size: subject.Size, Digest: subject.Digest}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  string(MediaType),
		Config:        cd,
		Layers:        []v1.Descriptor{bd},
		Subject:       &subj,
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode sbom manifest: %w", err)
	}
	return &Referrer{manifest: raw, Blobs: []v1.Layer{cfg, body}}, nil
}

// RawManifest returns the artifact manifest (remote.Taggable).
func (r *Referrer) RawManifest() ([]byte, error) { return r.manifest, nil }

// MediaType is the OCI manifest media type.
func (r *Referrer) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

// Digest is the artifact manifest's digest.
func (r *Referrer) Digest() (v1.Hash, error) {
	h, _, err := v1.SHA256(bytes.NewReader(r.manifest))
	return h, err
}

func describe(l v1.Layer, mt types.MediaType) (v1.Descriptor, error) {
	d, err := l.Digest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	n, err := l.Size()
	if err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{MediaType: mt, Size: n, Digest: d}, nil
}

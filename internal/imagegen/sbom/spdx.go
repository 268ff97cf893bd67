package sbom

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/closure"
)

// The subset of SPDX 2.3 (JSON) that describes a closure: one package per store path, a
// DEPENDS_ON relationship per reference, DESCRIBES for the roots.
type document struct {
	SPDXVersion       string         `json:"spdxVersion"`
	DataLicense       string         `json:"dataLicense"`
	SPDXID            string         `json:"SPDXID"`
	Name              string         `json:"name"`
	DocumentNamespace string         `json:"documentNamespace"`
	CreationInfo      creationInfo   `json:"creationInfo"`
	DocumentDescribes []string       `json:"documentDescribes"`
	Packages          []pkg          `json:"packages"`
	Relationships     []relationship `json:"relationships"`
}

type creationInfo struct {
	Created  string   `json:"created"`
	Creators []string `json:"creators"`
	Comment  string   `json:"comment,omitempty"`
}

type pkg struct {
	Name             string     `json:"name"`
	SPDXID           string     `json:"SPDXID"`
	VersionInfo      string     `json:"versionInfo,omitempty"`
	PackageFileName  string     `json:"packageFileName"`
	DownloadLocation string     `json:"downloadLocation"`
	FilesAnalyzed    bool       `json:"filesAnalyzed"`
	Checksums        []checksum `json:"checksums,omitempty"`
	LicenseConcluded string     `json:"licenseConcluded"`
	LicenseDeclared  string     `json:"licenseDeclared"`
	CopyrightText    string     `json:"copyrightText"`
	Comment          string     `json:"comment,omitempty"`
}

type checksum struct {
	Algorithm     string `json:"algorithm"`
	ChecksumValue string `json:"checksumValue"`
}

type relationship struct {
	SPDXElementID      string `json:"spdxElementId"`
	RelationshipType   string `json:"relationshipType"`
	RelatedSPDXElement string `json:"relatedSpdxElement"`
}

// Options name the document.
type Options struct {
	// Name is the image, e.g. "go-ffmpeg-hls-swarm:latest (linux/amd64)".
	Name string
	// Created is the image's creation time (SOURCE_DATE_EPOCH), so the document is reproducible.
	Created time.Time
	// Tool names the creator, e.g. "imagegen-0.1.0".
	Tool string
}

// Namespace is the URI prefix of every document; a digest of the closure makes each unique.
const Namespace = "https://github.com/randomizedcoder/go-ffmpeg-hls-swarm/spdx/"

// Document returns the SPDX 2.3 JSON document of g. The same closure and options give the same
// bytes.
func Document(g *closure.Graph, o Options) ([]byte, error) {
	paths := g.SortedPaths()
	ids := make(map[string]string, len(paths))
	sum := sha256.New()
	fmt.Fprintln(sum, o.Name)
	for _, p := range paths {
		ids[p] = "SPDXRef-StorePath-" + idPart(p)
		fmt.Fprintln(sum, p, g.Paths[p].NarHash)
	}
	doc := document{
		SPDXVersion:       "SPDX-2.3",
		DataLicense:       "CC0-1.0",
		SPDXID:            "SPDXRef-DOCUMENT",
		Name:              o.Name,
		DocumentNamespace: Namespace + hex.EncodeToString(sum.Sum(nil)),
		CreationInfo: creationInfo{
			Created:  o.Created.UTC().Format(time.RFC3339),
			Creators: []string{"Tool: " + o.Tool},
			Comment:  "One package per Nix store path of the image's closure; checksums are NAR hashes.",
		},
		DocumentDescribes: []string{},
		Packages:          make([]pkg, 0, len(paths)),
		Relationships:     []relationship{},
	}
	for _, r := range g.Roots {
		doc.DocumentDescribes = append(doc.DocumentDescribes, ids[r])
		doc.Relationships = append(doc.Relationships, relationship{"SPDXRef-DOCUMENT", "DESCRIBES", ids[r]})
	}
	for _, p := range paths {
		sp := g.Paths[p]
		n, v := ParseName(p)
		pk := pkg{
			Name: n, SPDXID: ids[p], VersionInfo: v, PackageFileName: p,
			DownloadLocation: "NOASSERTION", LicenseConcluded: "NOASSERTION", LicenseDeclared: "NOASSERTION",
			CopyrightText: "NOASSERTION",
		}
		if h, err := narHashHex(sp.NarHash); err != nil {
			return nil, fmt.Errorf("sbom: store path %s: %w", p, err)
		} else if h != "" {
			pk.Checksums = []checksum{{"SHA256", h}}
			pk.Comment = fmt.Sprintf("NAR hash %s, NAR size %d bytes", sp.NarHash, sp.NarSize)
		}
		doc.Packages = append(doc.Packages, pk)
		for _, ref := range sp.References {
			if ref == p {
				continue
			}
			doc.Relationships = append(doc.Relationships, relationship{ids[p], "DEPENDS_ON", ids[ref]})
		}
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("sbom: encode: %w", err)
	}
	return append(out, '\n'), nil
}

// ParseName splits a store path's name into package name and version the way Nix does
// (builtins.parseDrvName): the version starts at the first '-' followed by a non-letter.
// "/nix/store/…-ffmpeg-5.1.9-0+deb12u1" → ("ffmpeg", "5.1.9-0+deb12u1").
func ParseName(storePath string) (name, version string) {
	base := path.Base(storePath)
	if _, rest, ok := strings.Cut(base, "-"); ok && len(base) > 33 && base[32] == '-' {
		base = rest
	}
	for i := 0; i+1 < len(base); i++ {
		if base[i] == '-' {
			c := base[i+1]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				return base[:i], base[i+1:]
			}
		}
	}
	return base, ""
}

// idPart makes an SPDX identifier part ([A-Za-z0-9.-]) from a store path: hash and name.
func idPart(p string) string {
	var b strings.Builder
	for _, r := range path.Base(p) {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	return b.String()
}

// narHashHex turns an SRI "sha256-<base64>" NAR hash into hex; an empty hash stays empty.
func narHashHex(h string) (string, error) {
	if h == "" {
		return "", nil
	}
	algo, b64, ok := strings.Cut(h, "-")
	if !ok || algo != "sha256" {
		return "", fmt.Errorf("NAR hash %q is not sha256-<base64>", h)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw) != sha256.Size {
		return "", fmt.Errorf("NAR hash %q is not sha256-<base64>", h)
	}
	return hex.EncodeToString(raw), nil
}

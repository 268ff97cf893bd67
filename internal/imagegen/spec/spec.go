// Package spec describes one image to build: its name and tags, per-arch closure roots, and the
// OCI config (entrypoint, env, ports, exec-form healthcheck, labels, user), read from a JSON file
// and/or command-line flags, validated into a Spec that the build package turns into images.
package spec

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Limits of the layer cap: moby refuses images deeper than 125 layers, so 124 leaves one layer
// for an image derived from ours; the cap counts the customisation layer too.
const (
	DefaultMaxLayers = 100
	MaxMaxLayers     = 124
	MinMaxLayers     = 2
)

// Arches that imagegen builds for, with their OCI platform.
var arches = map[string]struct{ arch, variant string }{
	"amd64": {"amd64", ""},
	"arm64": {"arm64", "v8"},
}

// Arches returns the supported architecture names, sorted.
func Arches() []string {
	out := make([]string, 0, len(arches))
	for a := range arches {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// Platform returns the OCI os/architecture/variant of a supported arch.
func Platform(arch string) (os, architecture, variant string, err error) {
	p, ok := arches[arch]
	if !ok {
		return "", "", "", fmt.Errorf("unknown arch %q: valid arches are %s", arch, strings.Join(Arches(), ", "))
	}
	return "linux", p.arch, p.variant, nil
}

// Duration is a time.Duration read from a JSON string such as "30s".
type Duration time.Duration

// UnmarshalJSON parses a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration must be a string like \"30s\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("bad duration %q: %w", s, err)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// Healthcheck is an exec-form container healthcheck: Test[0] is "CMD" and the rest is the argv.
type Healthcheck struct {
	Test        []string `json:"test"`
	Interval    Duration `json:"interval,omitempty"`
	Timeout     Duration `json:"timeout,omitempty"`
	StartPeriod Duration `json:"startPeriod,omitempty"`
	Retries     int      `json:"retries,omitempty"`
}

// User is the non-root account the container runs as, written to /etc/passwd and /etc/group.
type User struct {
	Name string `json:"name"`
	UID  int    `json:"uid"`
	GID  int    `json:"gid"`
	// Home is created owned by the user; "" means /var/empty (root-owned, read-only).
	Home string `json:"home,omitempty"`
}

// Spec is one image: what goes in (closure roots per arch) and its OCI config.
type Spec struct {
	// Name is the image repository name, e.g. "go-ffmpeg-hls-swarm".
	Name string `json:"name"`
	// Tags default to ["latest"].
	Tags []string `json:"tags,omitempty"`
	// Arches to build, e.g. ["amd64","arm64"].
	Arches []string `json:"arches,omitempty"`
	// Roots maps an arch to its closure roots: store paths, or Nix installables (contain '#').
	Roots map[string][]string `json:"roots,omitempty"`
	// Closures maps an arch to a closure file made inside a Nix build (nix path-info JSON,
	// exportReferencesGraph file, or closureInfo directory); used instead of asking Nix.
	Closures     map[string]string `json:"closures,omitempty"`
	Entrypoint   []string          `json:"entrypoint,omitempty"`
	Cmd          []string          `json:"cmd,omitempty"`
	Env          []string          `json:"env,omitempty"`
	ExposedPorts []string          `json:"exposedPorts,omitempty"`
	Healthcheck  *Healthcheck      `json:"healthcheck,omitempty"`
	// DerivedPrograms are programs the entrypoint or healthcheck names that an image built on
	// this base adds (ko puts its binary at /ko-app/NAME): build does not look for them.
	DerivedPrograms []string          `json:"derivedPrograms,omitempty"`
	Labels          map[string]string `json:"labels,omitempty"`
	// Annotations go on every platform manifest and the index, next to the
	// org.opencontainers.image.* labels, which are copied there too.
	Annotations map[string]string `json:"annotations,omitempty"`
	User        User              `json:"user"`
	WorkingDir  string            `json:"workingDir,omitempty"`
	MaxLayers   int               `json:"maxLayers,omitempty"`
	// Compression is "gzip" (default) or "zstd".
	Compression string `json:"compression,omitempty"`
	// Created is the image creation time (from SOURCE_DATE_EPOCH); never read from the file.
	Created time.Time `json:"-"`
}

// Refs returns "name:tag" for every tag.
func (s *Spec) Refs() []string {
	out := make([]string, 0, len(s.Tags))
	for _, t := range s.Tags {
		out = append(out, s.Name+":"+t)
	}
	return out
}

// SetDefaults fills what was left empty: tag latest, user nobody (65534), workdir /, cap 100, gzip.
func (s *Spec) SetDefaults() {
	if len(s.Tags) == 0 {
		s.Tags = []string{"latest"}
	}
	if s.User.Name == "" && s.User.UID == 0 && s.User.GID == 0 {
		s.User = User{Name: "nobody", UID: 65534, GID: 65534}
	}
	if s.User.Name == "" && s.User.UID == 65534 {
		s.User.Name = "nobody"
	}
	if s.User.Name == "" {
		s.User.Name = "user" + strconv.Itoa(s.User.UID)
	}
	if s.WorkingDir == "" {
		s.WorkingDir = "/"
	}
	if s.MaxLayers == 0 {
		s.MaxLayers = DefaultMaxLayers
	}
	if s.Compression == "" {
		s.Compression = "gzip"
	}
	if len(s.Arches) == 0 {
		for a := range s.Roots {
			s.Arches = append(s.Arches, a)
		}
		for a := range s.Closures {
			if _, dup := s.Roots[a]; !dup {
				s.Arches = append(s.Arches, a)
			}
		}
		sort.Strings(s.Arches)
	}
	if s.Labels == nil {
		s.Labels = map[string]string{}
	}
	if _, ok := s.Labels["org.opencontainers.image.created"]; !ok && !s.Created.IsZero() {
		s.Labels["org.opencontainers.image.created"] = s.Created.UTC().Format(time.RFC3339)
	}
}

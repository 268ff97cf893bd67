package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/closure"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/spec"
)

// specFlags are the flags that describe an image (shared by build and plan).
type specFlags struct {
	file       string
	o          spec.Overrides
	entrypoint string
	cmd        string
	maxLayers  int
	nix        string
}

func (f *specFlags) register(c *cobra.Command) {
	fl := c.Flags()
	fl.StringVar(&f.file, "spec", "", "image spec JSON file (e.g. profiles/images/go-ffmpeg-hls-swarm.json); flags override it")
	fl.StringVar(&f.o.Name, "name", "", "image name, e.g. go-ffmpeg-hls-swarm")
	fl.StringArrayVar(&f.o.Tags, "tag", nil, "image tag (repeatable; default latest)")
	fl.StringSliceVar(&f.o.Arches, "arch", nil, "architectures to build: amd64, arm64 (comma-separated)")
	fl.StringArrayVar(&f.o.Roots, "root", nil, "closure root ARCH=PATH: a store path, ./result or a Nix installable (repeatable)")
	fl.StringArrayVar(&f.o.Closures, "closure", nil, "closure file ARCH=FILE: nix path-info --json output, an exportReferencesGraph file or a closureInfo directory")
	fl.StringVar(&f.entrypoint, "entrypoint", "", `entrypoint as a JSON array, e.g. '["/bin/app"]'`)
	fl.StringVar(&f.cmd, "cmd", "", `cmd as a JSON array, e.g. '["--help"]'`)
	fl.StringArrayVar(&f.o.Env, "env", nil, "environment KEY=VALUE (repeatable)")
	fl.StringArrayVar(&f.o.Ports, "port", nil, "exposed port, e.g. 9100/tcp (repeatable)")
	fl.StringVar(&f.o.Healthcheck, "healthcheck", "", `exec-form healthcheck as a JSON array '["CMD","/bin/app","healthcheck"]', or none`)
	fl.StringArrayVar(&f.o.Labels, "label", nil, "label KEY=VALUE (repeatable)")
	fl.StringVar(&f.o.User, "user", "", "user NAME:UID:GID, UID[:GID] or NAME (default nobody, 65534)")
	fl.StringVar(&f.o.WorkingDir, "workdir", "", "working directory (default /)")
	fl.IntVar(&f.maxLayers, "max-layers", spec.DefaultMaxLayers, fmt.Sprintf("layer cap including the customisation layer (%d..%d)", spec.MinMaxLayers, spec.MaxMaxLayers))
	fl.StringVar(&f.o.Compression, "compression", "", "layer compression: gzip (default) or zstd")
	fl.StringVar(&f.nix, "nix", "nix", "the nix command, for roots that must be queried or built")
}

// resolve reads the spec file, applies the flags and SOURCE_DATE_EPOCH, and validates.
func (f *specFlags) resolve(c *cobra.Command) (*spec.Spec, error) {
	s := &spec.Spec{}
	if f.file != "" {
		var err error
		if s, err = spec.LoadFile(f.file); err != nil {
			return nil, err
		}
	}
	for _, v := range []struct {
		flag string
		val  string
		dst  **[]string
	}{{"entrypoint", f.entrypoint, &f.o.Entrypoint}, {"cmd", f.cmd, &f.o.Cmd}} {
		if !c.Flags().Changed(v.flag) {
			continue
		}
		var list []string
		if err := json.Unmarshal([]byte(v.val), &list); err != nil {
			if strings.HasPrefix(strings.TrimSpace(v.val), "[") {
				return nil, fmt.Errorf("--%s %s is not a JSON array of strings: %v", v.flag, v.val, err)
			}
			list = []string{v.val}
		}
		*v.dst = &list
	}
	if c.Flags().Changed("max-layers") {
		f.o.MaxLayers = &f.maxLayers
	}
	if err := s.Apply(f.o); err != nil {
		return nil, err
	}
	created, err := spec.CreatedFromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	s.Created = created
	s.SetDefaults()
	if err := s.Validate(closure.DefaultStoreDir); err != nil {
		return nil, err
	}
	return s, nil
}

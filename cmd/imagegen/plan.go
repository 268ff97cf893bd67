package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/build"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/layering"
)

func newPlanCmd() *cobra.Command {
	var (
		sf     specFlags
		asJSON bool
	)
	c := &cobra.Command{
		Use:   "plan [--spec FILE] [--arch A,B --root ARCH=PATH …]",
		Short: "Print the layer plan of each arch without writing anything",
		Example: `  imagegen plan --spec profiles/images/swarm-client.json --root amd64=/nix/store/…-swarm --root amd64=/nix/store/…-ffmpeg
  imagegen plan --root ./result --entrypoint /bin/app --name app --max-layers 20 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := sf.resolve(cmd)
			if err != nil {
				return err
			}
			type archPlan struct {
				Arch    string           `json:"arch"`
				Paths   int              `json:"paths"`
				NarSize int64            `json:"narSize"` // as nix path-info names it
				Layers  []layering.Layer `json:"layers"`
			}
			var plans []archPlan
			for _, arch := range s.Arches {
				g, err := build.Closure(cmd.Context(), s, arch, sf.nix)
				if err != nil {
					return err
				}
				p, err := build.Plan(g, s)
				if err != nil {
					return err
				}
				plans = append(plans, archPlan{Arch: arch, Paths: len(g.Paths), NarSize: g.NarSize(), Layers: p.Layers})
			}
			w := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(plans)
			}
			for _, p := range plans {
				fmt.Fprintf(w, "%s: %d store paths, %d NAR bytes, %d layers + 1 customisation layer (cap %d)\n",
					p.Arch, p.Paths, p.NarSize, len(p.Layers), s.MaxLayers)
				for i, l := range p.Layers {
					more := ""
					if len(l.Paths) > 1 {
						more = fmt.Sprintf(" (+%d more)", len(l.Paths)-1)
					}
					fmt.Fprintf(w, "  %3d %12d  %s%s\n", i+1, l.NarSize, l.Paths[0], more)
				}
				fmt.Fprintf(w, "  %3d %12s  customisation: /etc/passwd /etc/group /tmp /bin links\n", len(p.Layers)+1, "-")
			}
			return nil
		},
	}
	sf.register(c)
	c.Flags().BoolVar(&asJSON, "json", false, "print the plan as JSON")
	return c
}

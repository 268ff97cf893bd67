package main

import (
	"encoding/json"

	"github.com/spf13/cobra"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/inspect"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/regclient"
)

func newInspectCmd() *cobra.Command {
	var (
		asJSON     bool
		noContents bool
		insecure   bool
	)
	c := &cobra.Command{
		Use:   "inspect FILE|DIR|REF",
		Short: "Print an image's config and its layers with the store paths they hold",
		Long: `inspect reads a docker-archive tarball (FILE), an OCI layout (DIR) or a registry image (REF)
and prints, per platform, the config (entrypoint, env, user, ports, healthcheck, labels) and one
line per layer, bottom first: digest, compressed size and the store paths inside. A registry is
read with the credentials of ` + "`docker login`" + ` (Docker's config.json and credential helpers).`,
		Example: `  imagegen inspect swarm.tar
  imagegen inspect ./swarm-image --json
  imagegen inspect 127.0.0.1:5000/swarm-client:latest --no-contents`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rep, err := inspect.Inspect(cmd.Context(), args[0], inspect.Options{Contents: !noContents, Access: regclient.Access{Insecure: insecure}})
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			return rep.WriteText(cmd.OutOrStdout())
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	c.Flags().BoolVar(&insecure, "insecure", false, insecureHelp)
	c.Flags().BoolVar(&noContents, "no-contents", false, "do not read layers (no store paths; nothing downloaded)")
	return c
}

package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/version"
)

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print imagegen's version",
		Example: `  imagegen version`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), "imagegen", version.String())
			return err
		},
	}
}

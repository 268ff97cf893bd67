package main

// PLACEHOLDER: replaced by the swarm CLI (issue 2).

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func newRootCmd() *cobra.Command {
	return &cobra.Command{Use: "go-ffmpeg-hls-swarm [flags] URL", SilenceUsage: true, SilenceErrors: true}
}

func execute(root *cobra.Command, args []string) int {
	root.SetArgs(args)
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "go-ffmpeg-hls-swarm:", err)
		return 2
	}
	return 0
}

package main

// PLACEHOLDER: replaced by the issue that owns the up subcommand.

import "github.com/spf13/cobra"

func newUpCmd() *cobra.Command {
	return &cobra.Command{Use: "up", Hidden: true}
}

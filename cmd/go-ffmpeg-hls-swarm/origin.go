package main

// PLACEHOLDER: replaced by the issue that owns the origin subcommand.

import "github.com/spf13/cobra"

func newOriginCmd() *cobra.Command {
	return &cobra.Command{Use: "origin", Hidden: true}
}

package main

// PLACEHOLDER: replaced by the issue that owns the healthcheck subcommand.

import "github.com/spf13/cobra"

func newHealthcheckCmd() *cobra.Command {
	return &cobra.Command{Use: "healthcheck", Hidden: true}
}

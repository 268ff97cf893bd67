package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/version"
)

// insecureHelp describes --insecure, which build and inspect share.
const insecureHelp = "allow plain HTTP and unverified TLS to a registry that is not on this machine (loopback registries may always use plain HTTP)"

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "imagegen",
		Short: "Build layered, multi-arch OCI images from Nix store closures",
		Long: `imagegen turns Nix store closures into layered OCI images with labels and an exec-form
healthcheck, one per arch, and writes them to a docker-archive tarball, an OCI layout, a
registry or the local Docker engine. Nix builds what goes inside; imagegen builds the image.`,
		Example: `  imagegen build --spec profiles/images/go-ffmpeg-hls-swarm.json \
    --arch amd64,arm64 --root amd64=/nix/store/…-swarm --root arm64=/nix/store/…-swarm \
    --output oci:./image
  imagegen plan --spec profiles/images/swarm-client.json --root ./result
  imagegen inspect ./image`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version.String(),
	}
	root.SetVersionTemplate("imagegen {{.Version}}\n")
	root.AddCommand(newBuildCmd(), newPlanCmd(), newInspectCmd(), newVersionCmd())
	return root
}

// execute runs the command line and returns the exit code; an error is one line on stderr.
func execute(root *cobra.Command, args []string, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root.SetArgs(args)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		msg := strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", " ")), " ")
		fmt.Fprintln(stderr, "imagegen:", msg)
		return 1
	}
	return 0
}

package main

import (
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/profiles"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/up"
)

func newUpCmd() *cobra.Command {
	var (
		req    up.Request
		dryRun bool
		kvm    string
	)
	cmd := &cobra.Command{
		Use:   "up [PROFILE [TYPE]] [-- ORIGIN-ARGS…]",
		Short: "Start the test origin: pick a profile and run it here, in Docker or in a MicroVM",
		Long: `up starts the test origin in one of three ways and prints what it runs before it runs it:

  runner      FFmpeg + nginx on this machine (go-ffmpeg-hls-swarm origin --profile P)
  container   the test-origin image in Docker (docker run --rm --network host IMAGE --profile P)
  vm          the NixOS MicroVM (nix run FLAKE#test-origin-vm-P; Linux with /dev/kvm only)

The profile and type come from --profile/--type or from the first two arguments.
In a terminal with neither given, a menu asks for them; without a terminal the default
profile and the runner type are used: the stable path on every platform.
Arguments after -- go to the origin (for example -- --port 9000).`,
		Example: `  go-ffmpeg-hls-swarm up                         # menu in a terminal, else default + runner
  go-ffmpeg-hls-swarm up low-latency runner
  go-ffmpeg-hls-swarm up --profile 4k-abr --type container
  go-ffmpeg-hls-swarm up --profile stress-test --type vm
  go-ffmpeg-hls-swarm up --dry-run default container
  go-ffmpeg-hls-swarm up -- --port 9000          # default + runner on port 9000
  nix run .#up -- low-latency runner`,
		Args: func(cmd *cobra.Command, args []string) error {
			if n := len(positional(cmd, args)); n > 2 {
				return fmt.Errorf("up takes at most PROFILE and TYPE, got %d arguments: put origin arguments after --", n)
			}
			return nil
		},
		ValidArgsFunction: func(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			switch len(args) {
			case 0:
				return upProfileCompletions(), cobra.ShellCompDirectiveNoFileComp
			case 1:
				return upTypeCompletions(), cobra.ShellCompDirectiveNoFileComp
			}
			return nil, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			pos := positional(cmd, args)
			if err := setOnce(&req.Profile, "profile", pos, 0); err != nil {
				return err
			}
			if err := setOnce(&req.Type, "type", pos, 1); err != nil {
				return err
			}
			req.Extra = args[len(pos):]
			self, err := os.Executable()
			if err != nil {
				return fmt.Errorf("find this program's path: %w", err)
			}
			req.Self = self
			set, err := profiles.Load()
			if err != nil {
				return err
			}
			return up.Run(cmd.Context(), set, up.Options{
				Request:     req,
				Host:        up.Host{GOOS: runtime.GOOS, KVMDevice: kvm},
				DryRun:      dryRun,
				Interactive: term.IsTerminal(int(os.Stdin.Fd())) && term.IsTerminal(int(os.Stdout.Fd())),
				In:          os.Stdin,
				Out:         cmd.OutOrStdout(),
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.Profile, "profile", "", "test-origin profile (default \""+up.DefaultProfile+"\"): "+strings.Join(upProfileNames(), ", "))
	f.StringVar(&req.Type, "type", "", "deployment type (default \""+string(up.DefaultType)+"\"): "+strings.Join(up.TypeNames(), ", "))
	f.BoolVar(&dryRun, "dry-run", false, "print the profile, type and command, and start nothing")
	f.StringVar(&req.Image, "image", up.DefaultImage, "test-origin image for --type container")
	f.StringVar(&req.Flake, "flake", up.DefaultFlake, "flake that holds the MicroVM apps, for --type vm")
	f.StringVar(&kvm, "kvm-device", up.DefaultKVMDevice, "KVM device the vm type needs")
	_ = f.MarkHidden("kvm-device")
	_ = cmd.RegisterFlagCompletionFunc("profile", cobra.FixedCompletions(upProfileCompletions(), cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("type", cobra.FixedCompletions(upTypeCompletions(), cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// positional returns the arguments before --.
func positional(cmd *cobra.Command, args []string) []string {
	if d := cmd.ArgsLenAtDash(); d >= 0 {
		return args[:d]
	}
	return args
}

// setOnce takes pos[i] into *dst unless the flag already set it differently.
func setOnce(dst *string, flag string, pos []string, i int) error {
	if i >= len(pos) {
		return nil
	}
	if *dst != "" && *dst != pos[i] {
		return fmt.Errorf("%s given twice (--%s %s and argument %s): give it once", flag, flag, *dst, pos[i])
	}
	*dst = pos[i]
	return nil
}

// upProfileNames lists the embedded origin profiles, for help and completion.
func upProfileNames() []string {
	set, err := profiles.Load()
	if err != nil {
		return nil
	}
	return set.OriginNames()
}

// upProfileCompletions offers each origin profile with its description.
func upProfileCompletions() []cobra.Completion {
	set, err := profiles.Load()
	if err != nil {
		return nil
	}
	out := make([]cobra.Completion, 0, len(set.Origins))
	for _, p := range set.Origins {
		out = append(out, cobra.CompletionWithDesc(p.Name, p.Description))
	}
	return out
}

// upTypeCompletions offers each deployment type with its description.
func upTypeCompletions() []cobra.Completion {
	out := make([]cobra.Completion, 0, len(up.Types()))
	for _, t := range up.Types() {
		out = append(out, cobra.CompletionWithDesc(string(t), t.Describe()))
	}
	return out
}

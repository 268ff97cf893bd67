package up

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/profiles"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/shellquote"
)

// Options is what Run needs from its caller; the zero values of the functions are the real ones.
type Options struct {
	Request     Request
	Host        Host
	DryRun      bool
	Interactive bool // stdin and stdout are terminals: offer the menu when nothing was chosen
	In          io.Reader
	Out         io.Writer
	// Exec replaces this process with the target (execve); tests record the call instead.
	Exec func(path string, argv, env []string) error
	// LookPath finds a program on PATH.
	LookPath func(string) (string, error)
	// Check runs a command that only answers yes (nil) or no, such as `docker image inspect`.
	Check func(ctx context.Context, argv []string) error
}

// Run picks the profile and type (menu, defaults or the request), prints the plan and, unless
// it is a dry run, replaces this process with the target so signals reach it directly.
func Run(ctx context.Context, set *profiles.Set, o Options) error {
	o = o.withDefaults()
	req := o.Request
	if req.Profile == "" && req.Type == "" {
		if o.Interactive {
			c, err := Menu(ctx, set, o.Host, o.In, o.Out)
			if err != nil {
				return err
			}
			req.Profile, req.Type = c.Profile, string(c.Type)
		} else {
			fmt.Fprintf(o.Out, "No terminal: using the defaults (profile=%s, type=%s)\n", DefaultProfile, DefaultType)
		}
	}
	plan, err := Resolve(set, req, o.Host)
	if err != nil {
		return err
	}
	if err := plan.Print(o.Out); err != nil {
		return fmt.Errorf("print plan: %w", err)
	}
	if o.DryRun {
		fmt.Fprintln(o.Out, "Dry run: nothing started.")
		return nil
	}
	if err := preflight(ctx, plan, o); err != nil {
		return err
	}
	path := plan.Argv[0]
	if !strings.ContainsRune(path, filepath.Separator) {
		if path, err = o.LookPath(path); err != nil {
			return fmt.Errorf("find %s: %w", plan.Argv[0], err)
		}
	}
	fmt.Fprintln(o.Out)
	if err := o.Exec(path, plan.Argv, os.Environ()); err != nil {
		return fmt.Errorf("start %s: %w", shellquote.Join(plan.Argv), err)
	}
	return nil
}

// preflight turns the usual reasons a target cannot start into one line that says what to do.
func preflight(ctx context.Context, plan Plan, o Options) error {
	switch plan.Type {
	case Container:
		if _, err := o.LookPath("docker"); err != nil {
			return fmt.Errorf("container needs docker, which is not on PATH: install Docker, or use --type runner")
		}
		if err := o.Check(ctx, []string{"docker", "image", "inspect", plan.Image}); err != nil {
			return fmt.Errorf("image %s is not in Docker: load it with `nix run .#load-test-origin-container` (or `docker load < result`), or name another with --image", plan.Image)
		}
	case VM:
		if _, err := o.LookPath("nix"); err != nil {
			return fmt.Errorf("vm needs nix (with flakes), which is not on PATH: install Nix, or use --type runner or --type container")
		}
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.Exec == nil {
		o.Exec = execve
	}
	if o.LookPath == nil {
		o.LookPath = exec.LookPath
	}
	if o.Check == nil {
		o.Check = func(ctx context.Context, argv []string) error {
			return exec.CommandContext(ctx, argv[0], argv[1:]...).Run()
		}
	}
	if o.In == nil {
		o.In = os.Stdin
	}
	if o.Out == nil {
		o.Out = os.Stdout
	}
	return o
}

// ErrCancelled is returned when the user leaves the menu without choosing.
var ErrCancelled = errors.New("cancelled in the menu: nothing started (run `up PROFILE TYPE` to skip the menu)")

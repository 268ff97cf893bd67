// Package up is the one entry point that starts the test origin: it picks an origin profile and a
// deployment type (runner, container or vm), says what it will run, and then runs it.
package up

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/profiles"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/shellquote"
)

// Type is how the test origin is deployed.
type Type string

// The deployment types, in the order the menu and the help list them.
const (
	Runner    Type = "runner"
	Container Type = "container"
	VM        Type = "vm"
)

// Types lists every deployment type.
func Types() []Type { return []Type{Runner, Container, VM} }

// TypeNames lists every deployment type's name, for completion and messages.
func TypeNames() []string {
	names := make([]string, 0, len(Types()))
	for _, t := range Types() {
		names = append(names, string(t))
	}
	return names
}

// Describe says in a few words what a deployment type runs.
func (t Type) Describe() string {
	switch t {
	case Runner:
		return "FFmpeg + nginx on this machine via go-ffmpeg-hls-swarm origin"
	case Container:
		return "the test-origin image in Docker via docker run --network host"
	case VM:
		return "the NixOS MicroVM via nix run .#test-origin-vm-<profile>, Linux with KVM"
	}
	return ""
}

// ParseType returns the named type, or a one-line error that lists the valid types.
func ParseType(s string) (Type, error) {
	for _, t := range Types() {
		if string(t) == s {
			return t, nil
		}
	}
	return "", fmt.Errorf("unknown type %q: valid types are %s", s, strings.Join(TypeNames(), ", "))
}

// Defaults: the stable path that works on every platform.
const (
	DefaultProfile = "default"
	DefaultType    = Runner
	// DefaultImage is the test-origin image as `nix run .#load-test-origin-container` loads it.
	DefaultImage = "go-ffmpeg-hls-swarm-test-origin:latest"
	// DefaultFlake is where `nix run` finds the MicroVM apps.
	DefaultFlake = "."
	// DefaultKVMDevice is the device a MicroVM needs.
	DefaultKVMDevice = "/dev/kvm"
)

// Host is what the vm type depends on; tests replace it.
type Host struct {
	GOOS      string // runtime.GOOS
	KVMDevice string // normally /dev/kvm
}

// VMSupport returns nil when a MicroVM can run here, or why not and what to use instead.
func (h Host) VMSupport() error {
	alternatives := "use --type runner (FFmpeg + nginx here) or --type container (Docker) instead"
	if h.GOOS != "linux" {
		return fmt.Errorf("vm needs Linux with KVM and this is %s: %s", h.GOOS, alternatives)
	}
	f, err := os.OpenFile(h.KVMDevice, os.O_RDWR, 0)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("vm needs KVM but %s cannot be opened (%v): enable virtualisation or join the kvm group, or %s", h.KVMDevice, err, alternatives)
	}
	return f.Close()
}

// Request is what the user asked for; an empty Profile or Type means "not chosen".
type Request struct {
	Profile string
	Type    string
	Extra   []string // arguments for the target, after --
	Self    string   // path of this program, for the runner
	Image   string   // the container image
	Flake   string   // the flake that holds the MicroVM apps
}

// Plan is what up will run.
type Plan struct {
	Profile profiles.Origin
	Type    Type
	Argv    []string // the target command; Argv[0] is looked up on PATH unless it is a path
	Image   string   // the image, for the container type
}

// Resolve checks a request against the profiles and the host and returns the plan to run.
// Unset fields take the defaults (default profile, runner).
func Resolve(set *profiles.Set, req Request, host Host) (Plan, error) {
	if req.Profile == "" {
		req.Profile = DefaultProfile
	}
	if req.Type == "" {
		req.Type = string(DefaultType)
	}
	prof, err := set.Origin(req.Profile)
	if err != nil {
		return Plan{}, err
	}
	typ, err := ParseType(req.Type)
	if err != nil {
		return Plan{}, err
	}
	p := Plan{Profile: prof, Type: typ}
	originArgs := append([]string{"origin", "--profile", prof.Name}, req.Extra...)
	switch typ {
	case Runner:
		if req.Self == "" {
			return Plan{}, fmt.Errorf("runner: cannot find this program's own path to start the origin")
		}
		p.Argv = append([]string{req.Self}, originArgs...)
	case Container:
		image := req.Image
		if image == "" {
			image = DefaultImage
		}
		// The image's entrypoint is `go-ffmpeg-hls-swarm origin` (profiles/images/test-origin.json):
		// its command is only the origin's flags.
		p.Image = image
		docker := []string{"docker", "run", "--rm", "--network", "host"}
		if port, ok := portArg(req.Extra); ok {
			// The image's healthcheck (healthcheck --origin) asks $ORIGIN_PORT: move it too.
			docker = append(docker, "-e", "ORIGIN_PORT="+port)
		}
		p.Argv = append(append(docker, image), originArgs[1:]...)
	case VM:
		if err := host.VMSupport(); err != nil {
			return Plan{}, err
		}
		flake := req.Flake
		if flake == "" {
			flake = DefaultFlake
		}
		p.Argv = []string{"nix", "run", flake + "#test-origin-vm-" + prof.Name}
		if len(req.Extra) > 0 {
			p.Argv = append(append(p.Argv, "--"), req.Extra...)
		}
	}
	return p, nil
}

// Print writes the plan: profile, type and the underlying command.
func (p Plan) Print(w io.Writer) error {
	_, err := fmt.Fprintf(w, "Profile:    %s - %s\nType:       %s - %s\nUnderlying: %s\n",
		p.Profile.Name, p.Profile.Description, p.Type, p.Type.Describe(), shellquote.Join(p.Argv))
	return err
}

// portArg finds the origin's --port in args (--port N or --port=N; the last one wins, as in a
// flag parser).
func portArg(args []string) (port string, ok bool) {
	for i, a := range args {
		switch {
		case a == "--":
			return port, ok
		case (a == "--port" || a == "-port") && i+1 < len(args):
			port, ok = args[i+1], true
		case strings.HasPrefix(a, "--port="):
			port, ok = strings.TrimPrefix(a, "--port="), true
		}
	}
	return port, ok
}

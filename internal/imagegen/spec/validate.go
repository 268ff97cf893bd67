package spec

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// IsInstallable reports whether a root names a Nix installable (a flake reference such as
// ".#swarm" or "path:/src#pkg") that imagegen must build, rather than a store path.
func IsInstallable(root string) bool { return strings.Contains(root, "#") }

// shellTokens are words that only a shell understands; in an exec-form healthcheck they are
// passed to the program as arguments, so a check written with them can never work.
var shellTokens = []string{"||", "&&", "|", ";", ">", "<", "$(", "`"}

// Validate checks the spec against storeDir (normally /nix/store) and resolves store-path roots
// (a ./result symlink becomes the store path it points to). Every error is one line saying what
// is wrong and how to fix it.
func (s *Spec) Validate(storeDir string) error {
	if s.Name == "" {
		return errors.New("the image has no name: set \"name\" in the spec or pass --name")
	}
	for _, t := range s.Tags {
		if _, err := name.NewTag(s.Name+":"+t, name.WeakValidation); err != nil {
			return fmt.Errorf("image reference %q is not valid: %v", s.Name+":"+t, err)
		}
	}
	if len(s.Arches) == 0 {
		return fmt.Errorf("no architecture to build: pass --arch (valid: %s) with a --root per arch", strings.Join(Arches(), ", "))
	}
	seen := map[string]bool{}
	for _, a := range s.Arches {
		if _, _, _, err := Platform(a); err != nil {
			return err
		}
		if seen[a] {
			return fmt.Errorf("arch %q is listed twice", a)
		}
		seen[a] = true
		if len(s.Roots[a]) == 0 && s.Closures[a] == "" {
			return fmt.Errorf("no closure for arch %s: pass --root %s=/nix/store/… (or an installable) or --closure %s=FILE", a, a, a)
		}
		if len(s.Roots[a]) > 0 && s.Closures[a] != "" {
			return fmt.Errorf("arch %s has both roots and a closure file: give one of them", a)
		}
		if err := s.resolveRoots(a, storeDir); err != nil {
			return err
		}
		if f := s.Closures[a]; f != "" {
			if _, err := os.Stat(f); err != nil {
				return fmt.Errorf("closure file %s for %s: %v", f, a, errors.Unwrap(err))
			}
		}
	}
	if s.MaxLayers < MinMaxLayers || s.MaxLayers > MaxMaxLayers {
		return fmt.Errorf("max layers %d is out of range: use %d..%d (the cap counts the customisation layer; moby allows 125 and a derived image needs one)", s.MaxLayers, MinMaxLayers, MaxMaxLayers)
	}
	if s.Compression != "gzip" && s.Compression != "zstd" {
		return fmt.Errorf("compression %q is not supported: use gzip or zstd", s.Compression)
	}
	if len(s.Entrypoint) == 0 && len(s.Cmd) == 0 {
		return errors.New("the image has neither entrypoint nor cmd: set \"entrypoint\" in the spec or pass --entrypoint")
	}
	for _, e := range s.Env {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
			return fmt.Errorf("env entry %q is not KEY=VALUE", e)
		}
	}
	for _, p := range s.ExposedPorts {
		if _, err := NormalizePort(p); err != nil {
			return err
		}
	}
	if err := s.Healthcheck.validate(); err != nil {
		return err
	}
	for _, p := range s.DerivedPrograms {
		if !filepath.IsAbs(p) {
			return fmt.Errorf("derivedPrograms entry %q must be an absolute path in the image (e.g. /ko-app/NAME)", p)
		}
	}
	for k := range s.Labels {
		if k == "" {
			return errors.New("a label has an empty key")
		}
	}
	for k := range s.Annotations {
		if k == "" {
			return errors.New("an annotation has an empty key")
		}
	}
	if s.User.UID < 0 || s.User.GID < 0 {
		return fmt.Errorf("user %s has a negative uid or gid", s.User.Name)
	}
	if s.User.UID == 0 && s.User.Name != "root" {
		return fmt.Errorf("user %q has uid 0: containers run as a non-root user (e.g. 65534); name the user \"root\" if you really mean it", s.User.Name)
	}
	if !filepath.IsAbs(s.WorkingDir) {
		return fmt.Errorf("working directory %q must be absolute", s.WorkingDir)
	}
	return nil
}

// resolveRoots turns each store-path root of arch into a clean store path, and checks it exists.
func (s *Spec) resolveRoots(arch, storeDir string) error {
	for i, r := range s.Roots[arch] {
		if IsInstallable(r) {
			continue
		}
		if !filepath.IsAbs(r) && !strings.HasPrefix(r, ".") {
			return fmt.Errorf("root %q for %s is neither a store path nor an installable (FLAKE#ATTR)", r, arch)
		}
		p, err := filepath.EvalSymlinks(r)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("root %s for %s does not exist: build it first (nix-build …) or fix the path", r, arch)
			}
			return fmt.Errorf("root %s for %s: %w", r, arch, err)
		}
		p, err = filepath.Abs(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(storeDir, p)
		if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
			return fmt.Errorf("root %s for %s is outside the Nix store %s: give a store path (nix-build prints one)", r, arch, storeDir)
		}
		// The root is the top-level store path even if a file inside it was named.
		top, _, _ := strings.Cut(rel, string(filepath.Separator))
		s.Roots[arch][i] = filepath.Join(storeDir, top)
	}
	return nil
}

// NormalizePort turns "9100" or "9100/tcp" into "9100/tcp" and checks the number and protocol.
func NormalizePort(p string) (string, error) {
	num, proto, ok := strings.Cut(p, "/")
	if !ok {
		proto = "tcp"
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 || n > 65535 || (proto != "tcp" && proto != "udp" && proto != "sctp") {
		return "", fmt.Errorf("exposed port %q is not valid: use PORT or PORT/tcp|udp with PORT in 1..65535", p)
	}
	return strconv.Itoa(n) + "/" + proto, nil
}

// validate accepts only exec form: ["CMD", "/bin/prog", args…] (or ["NONE"]).
func (h *Healthcheck) validate() error {
	if h == nil {
		return nil
	}
	const fix = `use exec form calling the image's own binary, e.g. ["CMD","/bin/go-ffmpeg-hls-swarm","healthcheck","--url","http://127.0.0.1:9100/healthz"]`
	if len(h.Test) == 0 {
		return errors.New("healthcheck has an empty test: " + fix)
	}
	switch h.Test[0] {
	case "NONE":
		return nil
	case "CMD-SHELL":
		return errors.New("healthcheck is shell form (CMD-SHELL) but the image has no shell: " + fix)
	case "CMD":
	default:
		return fmt.Errorf("healthcheck test must start with \"CMD\", not %q: %s", h.Test[0], fix)
	}
	for _, a := range h.Test[1:] {
		for _, tok := range shellTokens {
			if a == tok || (len(tok) > 1 && strings.Contains(a, tok)) {
				return fmt.Errorf("healthcheck uses shell syntax %q but exec form runs no shell (the seed's curl … || exit 1 cannot work): %s", a, fix)
			}
		}
	}
	if len(h.Test) < 2 || !filepath.IsAbs(h.Test[1]) {
		return errors.New("healthcheck must name a program by absolute path after \"CMD\": " + fix)
	}
	if h.Retries < 0 || h.Interval < 0 || h.Timeout < 0 || h.StartPeriod < 0 {
		return errors.New("healthcheck interval, timeout, startPeriod and retries must not be negative")
	}
	return nil
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

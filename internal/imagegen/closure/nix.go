package closure

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

func fromNix(ctx context.Context, nixBin string, installables []string) (*Graph, error) {
	if nixBin == "" {
		nixBin = "nix"
	}
	if len(installables) == 0 {
		return nil, fmt.Errorf("no closure roots: name a store path or a Nix installable")
	}
	var roots, build []string
	for _, in := range installables {
		if p, ok := storePathOf(in); ok {
			roots = append(roots, p)
			continue
		}
		build = append(build, in)
	}
	if len(build) > 0 {
		out, err := runNix(ctx, nixBin, append([]string{"build", "--no-link", "--json"}, build...)...)
		if err != nil {
			return nil, err
		}
		var results []struct {
			Outputs map[string]string `json:"outputs"`
		}
		if err := json.Unmarshal(out, &results); err != nil {
			return nil, fmt.Errorf("parse nix build --json output: %w", err)
		}
		for _, r := range results {
			for _, p := range r.Outputs {
				roots = append(roots, p)
			}
		}
		if len(roots) == 0 {
			return nil, fmt.Errorf("nix build %s produced no outputs", strings.Join(build, " "))
		}
	}
	slices.Sort(roots)
	roots = slices.Compact(roots)
	out, err := runNix(ctx, nixBin, append([]string{"path-info", "--json", "--recursive"}, roots...)...)
	if err != nil {
		return nil, err
	}
	paths, err := ParsePathInfo(bytes.NewReader(out))
	if err != nil {
		return nil, err
	}
	return New(roots, paths)
}

// storePathOf resolves a store path, a path inside one, or a symlink to one (./result) to the
// top-level store path. Anything else is an installable for nix build.
func storePathOf(in string) (string, bool) {
	if !strings.HasPrefix(in, "/") && !strings.HasPrefix(in, ".") {
		return "", false
	}
	p, err := filepath.EvalSymlinks(in)
	if err != nil {
		if strings.HasPrefix(in, DefaultStoreDir+"/") {
			return topStorePath(in), true // let path-info say that it is not valid
		}
		return "", false
	}
	if !strings.HasPrefix(p, DefaultStoreDir+"/") {
		if strings.HasPrefix(in, DefaultStoreDir+"/") {
			return topStorePath(in), true
		}
		return "", false
	}
	return topStorePath(p), true
}

func topStorePath(p string) string {
	rest := strings.TrimPrefix(p, DefaultStoreDir+"/")
	name, _, _ := strings.Cut(rest, "/")
	return DefaultStoreDir + "/" + name
}

// nixError keeps what Nix says went wrong, from its first "error:" on: the message, the
// "at FILE:LINE:COL" position, a failed builder's last log lines. It drops the source excerpt,
// blank lines and the "(use '--show-trace' …)" hint, and joins the rest into one line.
func nixError(stderr string) string {
	lines := strings.Split(ansi.ReplaceAllString(stderr, ""), "\n")
	start := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "error:") })
	if start < 0 {
		start = 0
	}
	var keep []string
	for _, l := range lines[start:] {
		l = strings.TrimSpace(l)
		if l == "" || excerpt.MatchString(l) || strings.HasPrefix(l, "(use '--show-trace'") || strings.HasPrefix(l, "warning:") {
			continue
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, " ")
}

var (
	ansi    = regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)
	excerpt = regexp.MustCompile(`^\d*\|`)
)

func runNix(ctx context.Context, nixBin string, args ...string) ([]byte, error) {
	full := append([]string{"--extra-experimental-features", "nix-command flakes"}, args...)
	cmd := exec.CommandContext(ctx, nixBin, full...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w: %s", nixBin, strings.Join(args[:min(len(args), 3)], " "), err, nixError(stderr.String()))
	}
	return out, nil
}

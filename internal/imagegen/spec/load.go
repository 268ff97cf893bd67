package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Load reads a JSON spec. Unknown fields are errors (a typo must not silently drop a setting);
// a syntax error names the line and column. source names the input in errors.
func Load(r io.Reader, source string) (*Spec, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read spec %s: %w", source, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var s Spec
	if err := dec.Decode(&s); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			line, col := position(data, se.Offset-1) // Offset is just past the bad byte
			return nil, fmt.Errorf("spec %s:%d:%d is not valid JSON: %v", source, line, col, se)
		case errors.As(err, &te):
			line, col := position(data, te.Offset)
			return nil, fmt.Errorf("spec %s:%d:%d: field %q must be %s, not a JSON %s", source, line, col, te.Field, te.Type, te.Value)
		case errors.Is(err, io.ErrUnexpectedEOF):
			line, _ := position(data, int64(len(data)))
			return nil, fmt.Errorf("spec %s:%d is not valid JSON: it ends before the object is closed", source, line)
		case errors.Is(err, io.EOF):
			return nil, fmt.Errorf("spec %s is empty: it must be a JSON object", source)
		}
		return nil, fmt.Errorf("spec %s: %v", source, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("spec %s has data after its JSON object", source)
	}
	return &s, nil
}

// LoadFile reads a JSON spec file.
func LoadFile(path string) (*Spec, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open spec: %w", err)
	}
	defer f.Close()
	return Load(f, path)
}

func position(data []byte, off int64) (line, col int) {
	off = max(off, 0)
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	before := data[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(off) - bytes.LastIndexByte(before, '\n')
	return line, col
}

// CreatedFromEnv returns the image creation time from SOURCE_DATE_EPOCH (seconds since 1970),
// or 1970-01-01T00:00:01Z when it is unset, so that the same inputs give the same digest.
func CreatedFromEnv(getenv func(string) string) (time.Time, error) {
	v := getenv("SOURCE_DATE_EPOCH")
	if v == "" {
		return time.Unix(1, 0).UTC(), nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a number of seconds since 1970", v)
	}
	return time.Unix(n, 0).UTC(), nil
}

// Overrides are command-line settings; a nil pointer or empty slice leaves the spec's value.
type Overrides struct {
	Name        string
	Tags        []string
	Arches      []string
	Roots       []string // ARCH=ROOT, or ROOT when one arch is built
	Closures    []string // ARCH=FILE, or FILE when one arch is built
	Entrypoint  *[]string
	Cmd         *[]string
	Env         []string // KEY=VALUE, replacing the spec's KEY
	Ports       []string
	Healthcheck string // a JSON array (exec form) or "none"
	Labels      []string
	User        string // NAME:UID:GID, UID[:GID] or NAME (with uid 65534)
	WorkingDir  string
	MaxLayers   *int
	Compression string
}

// Apply merges command-line overrides into the spec (flag > file).
func (s *Spec) Apply(o Overrides) error {
	if o.Name != "" {
		s.Name = o.Name
	}
	if len(o.Tags) > 0 {
		s.Tags = o.Tags
	}
	if len(o.Arches) > 0 {
		s.Arches = o.Arches
	}
	if err := s.applyPerArch(o.Roots, "--root", func(a, v string) {
		if s.Roots == nil {
			s.Roots = map[string][]string{}
		}
		s.Roots[a] = append(s.Roots[a], v)
	}); err != nil {
		return err
	}
	if err := s.applyPerArch(o.Closures, "--closure", func(a, v string) {
		if s.Closures == nil {
			s.Closures = map[string]string{}
		}
		s.Closures[a] = v
	}); err != nil {
		return err
	}
	if o.Entrypoint != nil {
		s.Entrypoint = *o.Entrypoint
	}
	if o.Cmd != nil {
		s.Cmd = *o.Cmd
	}
	for _, e := range o.Env {
		k, _, ok := strings.Cut(e, "=")
		if !ok || k == "" {
			return fmt.Errorf("--env %q is not KEY=VALUE", e)
		}
		s.Env = setEnv(s.Env, k, e)
	}
	s.ExposedPorts = append(s.ExposedPorts, o.Ports...)
	if o.Healthcheck != "" {
		if o.Healthcheck == "none" {
			s.Healthcheck = nil
		} else {
			var test []string
			if err := json.Unmarshal([]byte(o.Healthcheck), &test); err != nil {
				return fmt.Errorf(`--healthcheck must be a JSON array such as '["CMD","/bin/app","healthcheck"]': %v`, err)
			}
			if s.Healthcheck == nil {
				s.Healthcheck = &Healthcheck{}
			}
			s.Healthcheck.Test = test
		}
	}
	for _, l := range o.Labels {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			return fmt.Errorf("--label %q is not KEY=VALUE", l)
		}
		if s.Labels == nil {
			s.Labels = map[string]string{}
		}
		s.Labels[k] = v
	}
	if o.User != "" {
		u, err := parseUser(o.User)
		if err != nil {
			return err
		}
		s.User = u
	}
	if o.WorkingDir != "" {
		s.WorkingDir = o.WorkingDir
	}
	if o.MaxLayers != nil {
		s.MaxLayers = *o.MaxLayers
		if s.MaxLayers == 0 { // 0 would mean "default" in the file; from a flag it is a mistake
			return fmt.Errorf("--max-layers 0 is out of range: use %d..%d", MinMaxLayers, MaxMaxLayers)
		}
	}
	if o.Compression != "" {
		s.Compression = o.Compression
	}
	return nil
}

// applyPerArch parses ARCH=VALUE items (or a bare VALUE when exactly one arch is chosen). Flag
// roots replace the file's roots of the same arch.
func (s *Spec) applyPerArch(items []string, flag string, set func(arch, v string)) error {
	replaced := map[string]bool{}
	for _, it := range items {
		a, v, ok := strings.Cut(it, "=")
		if !ok || strings.HasPrefix(a, "/") || strings.HasPrefix(a, ".") {
			if _, known := arches[runtime.GOARCH]; known && len(s.Arches) == 0 && len(s.Roots) == 0 && len(s.Closures) == 0 {
				s.Arches = []string{runtime.GOARCH} // a bare root with no arch anywhere: this machine's
			}
			if len(s.Arches) != 1 {
				return fmt.Errorf("%s %q has no arch: write %s ARCH=%s (ARCH one of %s)", flag, it, flag, it, strings.Join(Arches(), ", "))
			}
			a, v = s.Arches[0], it
		}
		if _, _, _, err := Platform(a); err != nil {
			return fmt.Errorf("%s %s: %w", flag, it, err)
		}
		if flag == "--root" && !replaced[a] {
			delete(s.Roots, a)
			delete(s.Closures, a)
			replaced[a] = true
		}
		if flag == "--closure" {
			delete(s.Roots, a)
		}
		set(a, v)
	}
	return nil
}

func setEnv(env []string, key, entry string) []string {
	for i, e := range env {
		if k, _, _ := strings.Cut(e, "="); k == key {
			env[i] = entry
			return env
		}
	}
	return append(env, entry)
}

func parseUser(v string) (User, error) {
	parts := strings.Split(v, ":")
	bad := fmt.Errorf("--user %q is not valid: use NAME:UID:GID, UID[:GID] or NAME", v)
	num := func(s string) (int, bool) {
		n, err := strconv.Atoi(s)
		return n, err == nil && n >= 0
	}
	switch len(parts) {
	case 1:
		if n, ok := num(parts[0]); ok && n > 0 {
			return User{UID: n, GID: n}, nil
		}
		if parts[0] == "root" || parts[0] == "0" {
			return User{Name: "root"}, nil
		}
		return User{Name: parts[0], UID: 65534, GID: 65534}, nil
	case 2:
		u, ok1 := num(parts[0])
		g, ok2 := num(parts[1])
		if !ok1 || !ok2 {
			return User{}, bad
		}
		return User{UID: u, GID: g}, nil
	case 3:
		u, ok1 := num(parts[1])
		g, ok2 := num(parts[2])
		if parts[0] == "" || !ok1 || !ok2 {
			return User{}, bad
		}
		return User{Name: parts[0], UID: u, GID: g}, nil
	}
	return User{}, bad
}

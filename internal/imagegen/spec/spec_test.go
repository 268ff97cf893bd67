package spec

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	data "github.com/randomizedcoder/go-ffmpeg-hls-swarm/profiles"
)

// fakeStore makes a directory standing in for /nix/store with one path in it.
func fakeStore(t *testing.T) (store, path string) {
	t.Helper()
	store = t.TempDir()
	path = filepath.Join(store, "0123456789abcdfghijklmnpqrsvwxyz-app-1.0")
	if err := os.MkdirAll(filepath.Join(path, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	return store, path
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"syntax", "{\n  \"name\": \"x\",,\n}", "x.json:2:15 is not valid JSON"},
		{"truncated", "{\"name\": \"x\",", "x.json:1 is not valid JSON"},
		{"unknown field", `{"name":"x","entrypont":["/bin/x"]}`, `unknown field "entrypont"`},
		{"type", `{"name":"x","maxLayers":"many"}`, `field "maxLayers" must be int`},
		{"empty", ``, "is empty"},
		{"trailing", `{"name":"x"} {}`, "data after"},
		{"duration", `{"name":"x","healthcheck":{"test":["CMD","/bin/x"],"interval":"often"}}`, "bad duration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(strings.NewReader(tc.in), "x.json")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	store, app := fakeStore(t)
	outside := t.TempDir()
	link := filepath.Join(t.TempDir(), "result")
	if err := os.Symlink(app, link); err != nil {
		t.Fatal(err)
	}
	base := func() *Spec {
		s := &Spec{Name: "app", Arches: []string{"amd64"}, Roots: map[string][]string{"amd64": {app}},
			Entrypoint: []string{"/bin/app"}}
		s.SetDefaults()
		return s
	}
	for _, tc := range []struct {
		name   string
		mutate func(*Spec)
		want   string // "" = valid
	}{
		{"valid", func(*Spec) {}, ""},
		{"result symlink resolves", func(s *Spec) { s.Roots["amd64"] = []string{link} }, ""},
		{"file inside a store path", func(s *Spec) { s.Roots["amd64"] = []string{app + "/bin"} }, ""},
		{"installable", func(s *Spec) { s.Roots["amd64"] = []string{".#swarm"} }, ""},
		{"outside the store", func(s *Spec) { s.Roots["amd64"] = []string{outside} }, "outside the Nix store"},
		{"missing path", func(s *Spec) { s.Roots["amd64"] = []string{filepath.Join(store, "zzz-missing")} }, "does not exist"},
		{"unknown arch", func(s *Spec) { s.Arches = []string{"riscv64"} }, `unknown arch "riscv64": valid arches are amd64, arm64`},
		{"no root", func(s *Spec) { s.Arches = []string{"amd64", "arm64"} }, "no closure for arch arm64"},
		{"cap 0", func(s *Spec) { s.MaxLayers = -1 }, "max layers -1 is out of range"},
		{"cap 125", func(s *Spec) { s.MaxLayers = 125 }, "max layers 125 is out of range: use 2..124"},
		{"cap 124", func(s *Spec) { s.MaxLayers = 124 }, ""},
		{"compression", func(s *Spec) { s.Compression = "xz" }, `compression "xz"`},
		{"shell form", func(s *Spec) { s.Healthcheck = &Healthcheck{Test: []string{"CMD-SHELL", "curl x"}} }, "shell form"},
		{"seed's curl ||", func(s *Spec) {
			s.Healthcheck = &Healthcheck{Test: []string{"CMD", "/bin/curl", "-f", "http://x", "||", "exit", "1"}}
		}, `shell syntax "||"`},
		{"relative program", func(s *Spec) { s.Healthcheck = &Healthcheck{Test: []string{"CMD", "curl"}} }, "absolute path"},
		{"exec form", func(s *Spec) {
			s.Healthcheck = &Healthcheck{Test: []string{"CMD", "/bin/app", "healthcheck", "--url", "http://127.0.0.1:9100/healthz"}}
		}, ""},
		{"bad port", func(s *Spec) { s.ExposedPorts = []string{"70000/tcp"} }, "exposed port"},
		{"bad env", func(s *Spec) { s.Env = []string{"NOEQUALS"} }, "not KEY=VALUE"},
		{"root uid", func(s *Spec) { s.User = User{Name: "app", UID: 0} }, "non-root"},
		{"no name", func(s *Spec) { s.Name = "" }, "no name"},
		{"bad name", func(s *Spec) { s.Name = "UPPER CASE" }, "not valid"},
		{"no entrypoint", func(s *Spec) { s.Entrypoint = nil }, "neither entrypoint nor cmd"},
		{"missing closure file", func(s *Spec) {
			s.Roots = nil
			s.Closures = map[string]string{"amd64": filepath.Join(outside, "nope")}
		}, "closure file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := base()
			tc.mutate(s)
			err := s.Validate(store)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				for _, r := range s.Roots["amd64"] {
					if !IsInstallable(r) && r != app {
						t.Fatalf("root resolved to %s, want %s", r, app)
					}
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestApplyOverrides(t *testing.T) {
	s, err := Load(strings.NewReader(`{"name":"app","arches":["amd64","arm64"],
		"roots":{"amd64":["/nix/store/a-x"],"arm64":["/nix/store/b-x"]},
		"env":["A=1","B=2"],"labels":{"k":"v"},"entrypoint":["/bin/app"]}`), "t")
	if err != nil {
		t.Fatal(err)
	}
	ep := []string{"/bin/other"}
	cap := 50
	if err := s.Apply(Overrides{
		Arches: []string{"arm64"}, Roots: []string{"/nix/store/c-y"}, Env: []string{"B=3", "C=4"},
		Labels: []string{"swarm.profile=gentle"}, User: "app:1000:1000", Entrypoint: &ep, MaxLayers: &cap,
		Healthcheck: `["CMD","/bin/app","healthcheck"]`, Tags: []string{"v1", "latest"},
	}); err != nil {
		t.Fatal(err)
	}
	s.SetDefaults()
	if got := s.Roots["arm64"]; len(got) != 1 || got[0] != "/nix/store/c-y" {
		t.Errorf("roots[arm64] = %v", got)
	}
	if got := strings.Join(s.Env, ","); got != "A=1,B=3,C=4" {
		t.Errorf("env = %s", got)
	}
	if s.Labels["swarm.profile"] != "gentle" || s.Labels["k"] != "v" {
		t.Errorf("labels = %v", s.Labels)
	}
	if s.User != (User{Name: "app", UID: 1000, GID: 1000}) {
		t.Errorf("user = %+v", s.User)
	}
	if s.Entrypoint[0] != "/bin/other" || s.MaxLayers != 50 || s.Healthcheck.Test[2] != "healthcheck" {
		t.Errorf("spec = %+v", s)
	}
	if got := strings.Join(s.Refs(), " "); got != "app:v1 app:latest" {
		t.Errorf("refs = %s", got)
	}
	zero := 0
	if err := s.Apply(Overrides{MaxLayers: &zero}); err == nil || !strings.Contains(err.Error(), "--max-layers 0") {
		t.Errorf("cap 0: %v", err)
	}
	if err := (&Spec{Arches: []string{"amd64", "arm64"}}).Apply(Overrides{Roots: []string{"/nix/store/x"}}); err == nil ||
		!strings.Contains(err.Error(), "has no arch") {
		t.Errorf("bare root with two arches: %v", err)
	}
}

func TestDefaultsAndEpoch(t *testing.T) {
	s := &Spec{Name: "x", Roots: map[string][]string{"arm64": {"/nix/store/a"}, "amd64": {"/nix/store/b"}}}
	created, err := CreatedFromEnv(func(string) string { return "" })
	if err != nil || !created.Equal(time.Unix(1, 0)) {
		t.Fatalf("default epoch = %v, %v", created, err)
	}
	s.Created = created
	s.SetDefaults()
	if strings.Join(s.Arches, ",") != "amd64,arm64" || s.User.UID != 65534 || s.User.Name != "nobody" ||
		s.MaxLayers != 100 || s.Compression != "gzip" || s.Labels["org.opencontainers.image.created"] != "1970-01-01T00:00:01Z" {
		t.Fatalf("defaults = %+v", s)
	}
	if _, err := CreatedFromEnv(func(string) string { return "yesterday" }); err == nil {
		t.Fatal("SOURCE_DATE_EPOCH=yesterday accepted")
	}
	got, _ := CreatedFromEnv(func(string) string { return "1700000000" })
	if got.Unix() != 1700000000 {
		t.Fatalf("epoch = %v", got)
	}
}

// TestRepositorySpecs loads every image spec of profiles/images (as embedded) and validates it
// with a stand-in root; each carries the OCI labels and swarm.deployment-type.
func TestRepositorySpecs(t *testing.T) {
	store, app := fakeStore(t)
	names, err := fs.Glob(data.FS, "images/*.json")
	if err != nil || len(names) < 4 {
		t.Fatalf("image specs: %v (%v)", names, err)
	}
	for _, n := range names {
		t.Run(n, func(t *testing.T) {
			b, err := data.FS.ReadFile(n)
			if err != nil {
				t.Fatal(err)
			}
			s, err := Load(bytes.NewReader(b), n)
			if err != nil {
				t.Fatal(err)
			}
			s.Roots = map[string][]string{"amd64": {app}, "arm64": {app}}
			s.SetDefaults()
			if err := s.Validate(store); err != nil {
				t.Fatal(err)
			}
			for _, l := range []string{"org.opencontainers.image.title", "org.opencontainers.image.source",
				"org.opencontainers.image.licenses", "swarm.deployment-type"} {
				if s.Labels[l] == "" {
					t.Errorf("label %s is missing", l)
				}
			}
			if s.Healthcheck == nil || s.Healthcheck.Test[0] != "CMD" {
				t.Errorf("healthcheck = %+v", s.Healthcheck)
			}
		})
	}
}

package up

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/profiles"
)

func loadProfiles(t *testing.T) *profiles.Set {
	t.Helper()
	set, err := profiles.Load()
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// kvmHost is a Linux host whose "KVM device" is a file the test can open read-write.
func kvmHost(t *testing.T) Host {
	t.Helper()
	dev := filepath.Join(t.TempDir(), "kvm")
	if err := os.WriteFile(dev, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return Host{GOOS: "linux", KVMDevice: dev}
}

func TestResolve(t *testing.T) {
	set := loadProfiles(t)
	good := kvmHost(t)
	noKVM := Host{GOOS: "linux", KVMDevice: filepath.Join(t.TempDir(), "missing")}
	darwin := Host{GOOS: "darwin", KVMDevice: good.KVMDevice}
	tests := []struct {
		name    string
		req     Request
		host    Host
		want    []string
		wantErr []string // substrings of the one-line error
	}{
		{"defaults", Request{Self: "/bin/me"}, good, []string{"/bin/me", "origin", "--profile", "default"}, nil},
		{"runner with extra args", Request{Profile: "low-latency", Type: "runner", Self: "/bin/me", Extra: []string{"--port", "9000"}},
			good, []string{"/bin/me", "origin", "--profile", "low-latency", "--port", "9000"}, nil},
		{"container default image", Request{Profile: "4k-abr", Type: "container"}, good,
			[]string{"docker", "run", "--rm", "--network", "host", DefaultImage, "--profile", "4k-abr"}, nil},
		{"container own image", Request{Type: "container", Image: "reg/x:1", Extra: []string{"--port", "1"}}, good,
			[]string{"docker", "run", "--rm", "--network", "host", "-e", "ORIGIN_PORT=1", "reg/x:1", "--profile", "default", "--port", "1"}, nil},
		{"container port= form moves the healthcheck's port", Request{Type: "container", Extra: []string{"--size", "640x360", "--port=9000"}}, good,
			[]string{"docker", "run", "--rm", "--network", "host", "-e", "ORIGIN_PORT=9000", DefaultImage, "--profile", "default", "--size", "640x360", "--port=9000"}, nil},
		{"vm", Request{Profile: "stress-test", Type: "vm"}, good, []string{"nix", "run", ".#test-origin-vm-stress-test"}, nil},
		{"vm other flake with args", Request{Profile: "tap", Type: "vm", Flake: "github:o/r", Extra: []string{"-x"}}, good,
			[]string{"nix", "run", "github:o/r#test-origin-vm-tap", "--", "-x"}, nil},
		{"vm without kvm", Request{Type: "vm"}, noKVM, nil, []string{"vm needs KVM", "missing", "--type runner", "--type container"}},
		{"vm off linux", Request{Type: "vm"}, darwin, nil, []string{"this is darwin", "--type runner", "--type container"}},
		{"container off linux is fine", Request{Type: "container"}, darwin,
			[]string{"docker", "run", "--rm", "--network", "host", DefaultImage, "--profile", "default"}, nil},
		{"unknown profile", Request{Profile: "nope", Self: "/bin/me"}, good, nil,
			append([]string{`unknown origin profile "nope"`}, set.OriginNames()...)},
		{"unknown type", Request{Type: "pod"}, good, nil, []string{`unknown type "pod"`, "runner, container, vm"}},
		{"runner without self", Request{}, good, nil, []string{"own path"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Resolve(set, tt.req, tt.host)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("want an error, got plan %v", p.Argv)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error is not one line: %q", err)
				}
				for _, s := range tt.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not mention %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(p.Argv, "\x00") != strings.Join(tt.want, "\x00") {
				t.Errorf("argv = %q, want %q", p.Argv, tt.want)
			}
		})
	}
}

func TestPlanPrint(t *testing.T) {
	set := loadProfiles(t)
	p, err := Resolve(set, Request{Profile: "low-latency", Type: "container", Extra: []string{"--dir", "/tmp/a b"}}, Host{})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := p.Print(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Profile:    low-latency - ",
		"Type:       container - ",
		"Underlying: docker run --rm --network host " + DefaultImage + " --profile low-latency --dir '/tmp/a b'\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("plan output lacks %q:\n%s", want, b.String())
		}
	}
}

func TestParseType(t *testing.T) {
	for _, name := range TypeNames() {
		if typ, err := ParseType(name); err != nil || string(typ) != name || typ.Describe() == "" {
			t.Errorf("ParseType(%q) = %q, %v (description %q)", name, typ, err, typ.Describe())
		}
	}
	if _, err := ParseType("Runner"); err == nil {
		t.Error("types are case-sensitive: Runner should be refused")
	}
}

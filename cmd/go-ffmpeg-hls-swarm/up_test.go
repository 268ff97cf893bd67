package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/profiles"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

// upBuildBinary builds this command into a temporary directory and returns its path.
func upBuildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "go-ffmpeg-hls-swarm")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// upRun runs the binary without a terminal (stdin is /dev/null) and returns stdout, stderr, exit code.
func upRun(t *testing.T, bin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return stdout.String(), stderr.String(), code
}

func TestUpHelp(t *testing.T) {
	bin := upBuildBinary(t)
	out, errOut, code := upRun(t, bin, "up", "--help")
	if code != 0 || errOut != "" {
		t.Fatalf("up --help: exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{"runner", "container", "vm", "--profile", "--type", "--dry-run", "--image", "--flake",
		"Examples:", "go-ffmpeg-hls-swarm up low-latency runner", "/dev/kvm", "menu"} {
		if !strings.Contains(out, want) {
			t.Errorf("up --help lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "kvm-device") {
		t.Errorf("up --help shows the hidden --kvm-device flag")
	}
}

func TestUpRefusals(t *testing.T) {
	bin := upBuildBinary(t)
	set, err := profiles.Load()
	if err != nil {
		t.Fatal(err)
	}
	missingKVM := filepath.Join(t.TempDir(), "kvm")
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"unknown profile flag", []string{"up", "--profile", "nope", "--dry-run"},
			append([]string{`unknown origin profile "nope"`}, set.OriginNames()...)},
		{"unknown profile argument", []string{"up", "nope"},
			append([]string{`unknown origin profile "nope"`}, set.OriginNames()...)},
		{"unknown type flag", []string{"up", "--type", "pod"}, []string{`unknown type "pod"`, "runner, container, vm"}},
		{"unknown type argument", []string{"up", "default", "pod", "--dry-run"}, []string{`unknown type "pod"`, "runner, container, vm"}},
		{"vm without kvm", []string{"up", "--kvm-device", missingKVM, "--type", "vm"},
			[]string{"vm needs KVM", missingKVM, "--type runner", "--type container"}},
		{"vm without kvm, dry run", []string{"up", "--kvm-device", missingKVM, "--dry-run", "stress-test", "vm"},
			[]string{"vm needs KVM", "--type runner", "--type container"}},
		{"too many arguments", []string{"up", "default", "runner", "extra"}, []string{"at most PROFILE and TYPE", "after --"}},
		{"profile given twice", []string{"up", "--profile", "debug", "logged"}, []string{"profile given twice"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := upRun(t, bin, tt.args...)
			if code == 0 {
				t.Fatalf("exit 0, want non-zero; stdout %q", out)
			}
			if out != "" {
				t.Errorf("a refusal printed a plan on stdout: %q", out)
			}
			if n := strings.Count(errOut, "\n"); n != 1 {
				t.Errorf("stderr has %d lines, want one: %q", n, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q lacks %q", errOut, w)
				}
			}
		})
	}
}

func TestUpDryRunPrintsPlan(t *testing.T) {
	bin := upBuildBinary(t)
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"up", "--dry-run"}, []string{"No terminal: using the defaults (profile=default, type=runner)",
			"Profile:    default - ", "Type:       runner - ", "Underlying: " + bin + " origin --profile default\n"}},
		{[]string{"up", "--dry-run", "low-latency", "container", "--", "--port", "9000"}, []string{"Profile:    low-latency - ",
			"Underlying: docker run --rm --network host -e ORIGIN_PORT=9000 go-ffmpeg-hls-swarm-test-origin:latest --profile low-latency --port 9000\n"}},
		{[]string{"up", "--dry-run", "--profile", "tap", "--type", "vm", "--kvm-device", "/dev/null", "--flake", "github:o/r"},
			[]string{"Type:       vm - ", "Underlying: nix run github:o/r#test-origin-vm-tap\n"}},
	}
	for _, tt := range tests {
		out, errOut, code := upRun(t, bin, tt.args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", tt.args, code, errOut)
		}
		for _, w := range append(tt.want, "Dry run: nothing started.") {
			if !strings.Contains(out, w) {
				t.Errorf("%v: stdout lacks %q:\n%s", tt.args, w, out)
			}
		}
	}
}

// upTerminal runs the binary with args in a real terminal (a tmux pane, 132×40).
func upTerminal(t *testing.T, bin string, args ...string) *testenv.Terminal {
	t.Helper()
	return testenv.StartTerminal(t, 132, 40, os.Environ(), append([]string{bin}, args...)...)
}

func TestUpMenuOnPseudoTerminal(t *testing.T) {
	bin := upBuildBinary(t)
	set, err := profiles.Load()
	if err != nil {
		t.Fatal(err)
	}
	term := upTerminal(t, bin, "up", "--dry-run", "--kvm-device", filepath.Join(t.TempDir(), "no-kvm"))
	waitScreen := func(what string) {
		t.Helper()
		term.WaitScreen(30*time.Second, fmt.Sprintf("%q on the screen", what), func(s string) bool {
			return strings.Contains(s, what)
		})
	}

	waitScreen("Pick a test-origin profile (1/2)")
	for _, p := range set.Origins {
		waitScreen(p.Name)
	}
	term.Keys("Down") // default → the second profile
	waitScreen("> " + set.Origins[1].Name)
	term.Keys("Enter")
	waitScreen("Pick a deployment type (2/2)")
	term.Keys("Up") // runner → vm (wraps), which this host cannot run
	waitScreen("> vm")
	term.Keys("Enter")
	waitScreen("vm needs KVM")
	term.Keys("Up") // vm → container
	waitScreen("> container")
	term.Keys("Enter")

	if code := term.Wait(30 * time.Second); code != 0 {
		t.Fatalf("up exited %d:\n%s", code, term.All())
	}
	text := term.All()
	for _, w := range []string{"Profile:    " + set.Origins[1].Name + " - ", "Type:       container - ",
		"Underlying: docker run --rm --network host go-ffmpeg-hls-swarm-test-origin:latest --profile " + set.Origins[1].Name,
		"Dry run: nothing started."} {
		if !strings.Contains(text, w) {
			t.Errorf("screen lacks %q:\n%s", w, text)
		}
	}
	if strings.Contains(text, "No terminal") {
		t.Errorf("on a terminal, up took the no-terminal defaults:\n%s", text)
	}
}

func TestUpMenuQuitStartsNothing(t *testing.T) {
	bin := upBuildBinary(t)
	// The exit status comes from a shell around up, printed on the screen: tmux's own
	// pane_dead_status was sometimes still empty seconds after the program ended (two CI runs).
	term := testenv.StartTerminal(t, 132, 40, os.Environ(), "sh", "-c", `"$0" up; echo "up exited $?"; sleep 600`, bin)
	term.WaitScreen(30*time.Second, "the menu", func(s string) bool { return strings.Contains(s, "Pick a test-origin profile") })
	term.Keys("q")
	exited := regexp.MustCompile(`up exited (\d+)`)
	var m []string
	testenv.WaitFor(t, 30*time.Second, "up to exit after q", func() bool {
		m = exited.FindStringSubmatch(term.All())
		return m != nil
	})
	if m[1] == "0" {
		t.Errorf("q in the menu: exit 0, want non-zero")
	}
	text := term.All()
	if !strings.Contains(text, "cancelled in the menu: nothing started") {
		t.Errorf("no cancel line:\n%s", text)
	}
	if strings.Contains(text, "Underlying:") {
		t.Errorf("after q, want no plan:\n%s", text)
	}
}

// TestUpContainerNeedsTheImage asks a real Docker engine for an image that is not there.
func TestUpContainerNeedsTheImage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Docker engine")
	}
	testenv.RequireBinary(t, "docker")
	host := testenv.Docker(t)
	bin := upBuildBinary(t)
	image := fmt.Sprintf("go-ffmpeg-hls-swarm-test-origin:absent-%d", time.Now().UnixNano())
	cmd := exec.Command(bin, "up", "default", "container", "--image", image)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+host)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Fatalf("exit %v, want non-zero; stdout %q", err, stdout.String())
	}
	want := "image " + image + " is not in Docker: load it with `nix run .#load-test-origin-container`"
	if !strings.Contains(stderr.String(), want) || strings.Count(stderr.String(), "\n") != 1 {
		t.Errorf("stderr %q, want one line with %q", stderr.String(), want)
	}
	if !strings.Contains(stdout.String(), "Underlying: docker run --rm --network host "+image+" --profile default") {
		t.Errorf("the plan was not printed before the check:\n%s", stdout.String())
	}
}

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/profiles"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/up"
)

// completionNames asks the binary's hidden __complete command what it offers, and returns the
// names (descriptions after the tab dropped) and the directive line.
func completionNames(t *testing.T, bin string, words ...string) ([]string, string) {
	t.Helper()
	out, err := exec.Command(bin, append([]string{"__complete"}, words...)...).Output()
	if err != nil {
		t.Fatalf("__complete %q: %v", words, err)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	directive := lines[len(lines)-1]
	var names []string
	for _, l := range lines[:len(lines)-1] {
		name, _, _ := strings.Cut(l, "\t")
		names = append(names, name)
	}
	return names, directive
}

func TestCompletionScripts(t *testing.T) {
	bin := upBuildBinary(t)
	tests := []struct {
		shell, marker, checker string
		check                  []string
	}{
		{"bash", "complete -o default -F __start_go-ffmpeg-hls-swarm go-ffmpeg-hls-swarm", "bash", []string{"-n"}},
		{"zsh", "#compdef go-ffmpeg-hls-swarm", "zsh", []string{"-n"}},
		{"fish", "complete -c go-ffmpeg-hls-swarm", "fish", []string{"--no-execute"}},
	}
	for _, tt := range tests {
		t.Run(tt.shell, func(t *testing.T) {
			out, err := exec.Command(bin, "completion", tt.shell).Output()
			if err != nil {
				t.Fatalf("completion %s: %v", tt.shell, err)
			}
			if !strings.Contains(string(out), tt.marker) || !strings.Contains(string(out), "__complete") {
				t.Fatalf("completion %s lacks %q or the __complete call:\n%.400s", tt.shell, tt.marker, out)
			}
			sh, err := exec.LookPath(tt.checker)
			if err != nil {
				t.Logf("%s is not installed: the %s script was generated but not syntax-checked", tt.checker, tt.shell)
				return
			}
			script := filepath.Join(t.TempDir(), "completion."+tt.shell)
			if err := os.WriteFile(script, out, 0o644); err != nil {
				t.Fatal(err)
			}
			if msg, err := exec.Command(sh, append(tt.check, script)...).CombinedOutput(); err != nil {
				t.Errorf("%s %v rejects the %s script: %v\n%s", tt.checker, tt.check, tt.shell, err, msg)
			}
		})
	}
}

func TestCompletionOffersExactlyTheProfiles(t *testing.T) {
	bin := upBuildBinary(t)
	set, err := profiles.Load()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		words []string
		want  []string
	}{
		{"swarm --profile", []string{"--profile", ""}, set.SwarmNames()},
		{"origin --profile", []string{"origin", "--profile", ""}, set.OriginNames()},
		{"up --profile", []string{"up", "--profile", ""}, set.OriginNames()},
		{"up PROFILE", []string{"up", ""}, set.OriginNames()},
		{"up --type", []string{"up", "--type", ""}, up.TypeNames()},
		{"up PROFILE TYPE", []string{"up", "low-latency", ""}, up.TypeNames()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, directive := completionNames(t, bin, tt.words...)
			if !slices.Equal(got, tt.want) {
				t.Errorf("__complete %q offers %q, want exactly %q", tt.words, got, tt.want)
			}
			if directive != ":4" {
				t.Errorf("__complete %q: directive %s, want :4 (no file completion)", tt.words, directive)
			}
		})
	}
}

func filterPrefix(names []string, prefix string) []string {
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	return out
}

// TestCompletionInBash drives the generated bash script the way bash does on Tab.
func TestCompletionInBash(t *testing.T) {
	const bashCompletion = "/usr/share/bash-completion/bash_completion"
	if _, err := os.Stat(bashCompletion); err != nil {
		if testenv.InCI() {
			t.Fatalf("CI needs Debian's bash-completion (%v)", err)
		}
		t.Skipf("*** SKIPPING: Debian's bash-completion is not installed (%v); run `make deps` ***", err)
	}
	bashPath := testenv.RequireBinary(t, "bash")
	bin := upBuildBinary(t)
	set, err := profiles.Load()
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(t.TempDir(), "go-ffmpeg-hls-swarm.bash")
	out, err := exec.Command(bin, "completion", "bash").Output()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(script, out, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		line string // what is typed before Tab
		want []string
	}{
		{"go-ffmpeg-hls-swarm up --profile ", set.OriginNames()},
		{"go-ffmpeg-hls-swarm origin --profile ", set.OriginNames()},
		{"go-ffmpeg-hls-swarm --profile ", set.SwarmNames()},
		{"go-ffmpeg-hls-swarm up --type ", up.TypeNames()},
		{"go-ffmpeg-hls-swarm up --profile st", filterPrefix(set.OriginNames(), "st")},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			// COMP_WORDS as bash splits the line; the last word is the one being completed.
			words := strings.Fields(tt.line)
			if strings.HasSuffix(tt.line, " ") {
				words = append(words, "")
			}
			quoted := make([]string, len(words))
			for i, w := range words {
				quoted[i] = "'" + w + "'"
			}
			prog := strings.Join([]string{
				"source " + bashCompletion,
				"source " + script,
				"COMP_WORDS=(" + strings.Join(quoted, " ") + ")",
				"COMP_CWORD=" + strconv.Itoa(len(words)-1),
				"COMP_LINE='" + tt.line + "'",
				"COMP_POINT=${#COMP_LINE}",
				"COMP_TYPE=9",
				"__start_go-ffmpeg-hls-swarm go-ffmpeg-hls-swarm " + quoted[len(quoted)-1] + " " + quoted[len(quoted)-2],
				`printf '%s\n' "${COMPREPLY[@]}"`,
			}, "\n")
			cmd := exec.Command(bashPath, "-c", prog)
			cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"))
			got, err := cmd.Output()
			if err != nil {
				t.Fatalf("bash: %v", err)
			}
			var names []string
			for _, l := range strings.Split(strings.TrimSpace(string(got)), "\n") {
				// With descriptions bash shows "name  (description)": keep the name.
				if f := strings.Fields(l); len(f) > 0 {
					names = append(names, f[0])
				}
			}
			if !slices.Equal(names, tt.want) {
				t.Errorf("Tab after %q offers %q, want exactly %q", tt.line, names, tt.want)
			}
		})
	}
}

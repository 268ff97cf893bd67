package shellquote

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

func TestJoinQuotesOnlyWhatNeedsIt(t *testing.T) {
	tests := []struct {
		in   []string
		want string
	}{
		{[]string{"nix", "run", ".#test-origin-vm-default"}, "nix run .#test-origin-vm-default"},
		{[]string{"a b", "it's", ""}, `'a b' 'it'\''s' ''`},
		{[]string{"#comment", "$HOME", "x;y", "~", "a*"}, `'#comment' '$HOME' 'x;y' '~' 'a*'`},
		{[]string{"-headers", "X-A: 1\r\n"}, `-headers $'X-A: 1\r\n'`},
	}
	for _, tt := range tests {
		if got := Join(tt.in); got != tt.want {
			t.Errorf("Join(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// readBack has a real shell parse line and returns the words it got.
func readBack(t *testing.T, shell, line string) []string {
	t.Helper()
	if _, err := exec.LookPath(shell); err != nil {
		t.Fatalf("%s is missing", shell)
	}
	out, err := exec.Command(shell, "-c", "eval \"set -- $1\"; for a in \"$@\"; do printf '%s\\0' \"$a\"; done", "sh", line).Output()
	if err != nil {
		t.Fatalf("%s: %v", shell, err)
	}
	return strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
}

func TestJoinRoundTripsThroughAShell(t *testing.T) {
	printable := []string{"ffmpeg", "-user_agent", "it's a \"test\"", "-i", "http://127.0.0.1:8080/a b.m3u8?x=1&y=$HOME",
		"", "-map", "0:v?", "plain-arg_1.ts", "#x", "a#b", "`id`", "\\", "!", "naïve ☃", "*", "{a,b}"}
	control := append(slices.Clone(printable), "-headers", "X-A: 1\r\nX-B: \\ 'q'\t\x01\x7f\r\n", "two\nlines")
	for _, tc := range []struct {
		shell string
		argv  []string
	}{{"bash", control}, {"sh", printable}} {
		line := Join(tc.argv)
		if strings.ContainsAny(line, "\r\n") {
			t.Errorf("not one line: %q", line)
		}
		if got := readBack(t, tc.shell, line); !slices.Equal(got, tc.argv) {
			t.Errorf("%s read back %q, want %q", tc.shell, got, tc.argv)
		}
	}
}

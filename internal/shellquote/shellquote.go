// Package shellquote renders command lines that a person can paste into a shell: the one quoter
// behind --print-cmd, origin render and up's plans.
package shellquote

import (
	"fmt"
	"strings"
)

// Join quotes every word of argv (see Word) and joins them with spaces, on one line.
func Join(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = Word(a)
	}
	return strings.Join(out, " ")
}

// Word quotes s so that bash reads it back as one word equal to s (and so does any POSIX shell,
// unless s holds a control character). Plain words stay bare (letters, digits and -_./:=@%+, and
// a # that does not start the word), others are single-quoted, and words with control characters
// (FFmpeg's -headers ends in CR LF) use bash's $'…' form so the line stays one line.
func Word(s string) string {
	switch {
	case plain(s):
		return s
	case strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0:
		var b strings.Builder
		b.WriteString("$'")
		for _, c := range []byte(s) {
			switch {
			case c == '\\' || c == '\'':
				b.WriteByte('\\')
				b.WriteByte(c)
			case c == '\r':
				b.WriteString(`\r`)
			case c == '\n':
				b.WriteString(`\n`)
			case c == '\t':
				b.WriteString(`\t`)
			case c < 0x20 || c == 0x7f:
				fmt.Fprintf(&b, `\x%02x`, c)
			default:
				b.WriteByte(c)
			}
		}
		b.WriteByte('\'')
		return b.String()
	default:
		return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	}
}

func plain(s string) bool {
	if s == "" || s[0] == '#' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@%+,#", r)) {
			return false
		}
	}
	return true
}

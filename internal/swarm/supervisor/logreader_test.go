package supervisor

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// pipe gives r the read end of a new pipe and returns its write end.
func pipe(t *testing.T, r *LogReader, line func(string, time.Time)) (*os.File, <-chan struct{}) {
	t.Helper()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	done, err := r.adopt(pr, &logPipe{line: line})
	if err != nil {
		t.Fatal(err)
	}
	return pw, done
}

// TestLogReaderLines: whatever way the writer splits its writes, every line arrives whole, in
// order, without its newline (or CR LF), the last unended line included, then done closes.
func TestLogReaderLines(t *testing.T) {
	long := strings.Repeat("x", maxLine+10)
	tests := []struct {
		name   string
		writes []string
		want   []string
	}{
		{"one write per line", []string{"a\n", "b\n"}, []string{"a", "b"}},
		{"FFmpeg style: context, level, message", []string{"[hls @ 0x1] ", "[verbose] ", "HLS request\n", "[http @ 0x2] ", "[info] ", "Opening\n"},
			[]string{"[hls @ 0x1] [verbose] HLS request", "[http @ 0x2] [info] Opening"}},
		{"several lines in one write", []string{"a\nb\nc"}, []string{"a", "b", "c"}},
		{"CR LF and an empty line", []string{"a\r\n\nb\n"}, []string{"a", "", "b"}},
		{"over-long line is cut", []string{long + "\n"}, []string{long[:maxLine], long[maxLine:]}},
		{"nothing", nil, nil},
	}
	r := NewLogReader(5 * time.Millisecond)
	defer r.Close()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var got []string
			w, done := pipe(t, r, func(line string, _ time.Time) { mu.Lock(); got = append(got, line); mu.Unlock() })
			for _, s := range tt.writes {
				if _, err := w.WriteString(s); err != nil {
					t.Fatal(err)
				}
				time.Sleep(time.Millisecond) // let some writes be read separately (any split must work)
			}
			w.Close()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("done not closed after the write end was closed")
			}
			mu.Lock()
			defer mu.Unlock()
			if !slices.Equal(got, tt.want) {
				t.Errorf("lines %.80q, want %.80q", got, tt.want)
			}
		})
	}
}

// TestLogReaderManyPipes: one reader serves many pipes at once, more than a buffer each.
func TestLogReaderManyPipes(t *testing.T) {
	r := NewLogReader(5 * time.Millisecond)
	defer r.Close()
	const pipes, lines = 20, 3000 // 3000 × ~30 B per pipe: more than the 64 KiB pipe buffer
	var wg sync.WaitGroup
	counts := make([]int, pipes)
	for i := range pipes {
		w, done := pipe(t, r, func(line string, _ time.Time) {
			if line == fmt.Sprintf("pipe %d line %d", i, counts[i]) {
				counts[i]++ // only r's goroutine calls this
			}
		})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range lines {
				fmt.Fprintf(w, "pipe %d line %d\n", i, n)
			}
			w.Close()
			<-done
		}()
	}
	wg.Wait()
	for i, n := range counts {
		if n != lines {
			t.Errorf("pipe %d: %d lines in order, want %d", i, n, lines)
		}
	}
}

// TestLogReaderCloseEndsOpenPipes: Close closes done of pipes whose writer is still open.
func TestLogReaderCloseEndsOpenPipes(t *testing.T) {
	r := NewLogReader(time.Hour)
	w, done := pipe(t, r, func(string, time.Time) {})
	defer w.Close()
	r.Close()
	select {
	case <-done:
	default:
		t.Error("done still open after Close")
	}
}

// TestLogReaderAdopt: a pipe read elsewhere until now, with a line begun, continues in the
// reader without losing or splitting a line.
func TestLogReaderAdopt(t *testing.T) {
	r := NewLogReader(5 * time.Millisecond)
	defer r.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	lp := &logPipe{line: func(line string, _ time.Time) { got = append(got, line) }}
	lp.feed([]byte("first\npar"), time.Now()) // as readUntil leaves it
	done, err := r.adopt(pr, lp)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pw.WriteString("tial\nlast\n"); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("done not closed")
	}
	if want := []string{"first", "partial", "last"}; !slices.Equal(got, want) {
		t.Errorf("lines %q, want %q", got, want)
	}
	r.Close()
	pr2, pw2, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pw2.Close()
	defer pr2.Close()
	if _, err := r.adopt(pr2, &logPipe{}); err != errLogReaderClosed {
		t.Errorf("adopt after Close: %v, want %v", err, errLogReaderClosed)
	}
}

package progress

import (
	"bytes"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestPlainSteps(t *testing.T) {
	var buf bytes.Buffer
	r := New(&buf, false)
	c := r.Steps("amd64 layers", 40)
	for i := 0; i < 40; i++ {
		c.Add(1)
	}
	c.Done()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 10 || lines[0] != "amd64 layers: 4 of 40" || lines[9] != "amd64 layers: 40 of 40" {
		t.Fatalf("got %d lines:\n%s", len(lines), buf.String())
	}
}

func TestUpdates(t *testing.T) {
	for _, closeIt := range []bool{true, false} {
		var buf bytes.Buffer
		r := New(&buf, false)
		ch, finish := r.Updates("push", 0)
		for i := int64(1); i <= 4; i++ {
			ch <- v1.Update{Complete: i * 250, Total: 1000}
		}
		if closeIt {
			close(ch)
		}
		finish(nil)
		finish(nil) // twice is fine
		if !strings.Contains(buf.String(), "push: 100% (1000 of 1000 bytes)") {
			t.Fatalf("close=%v: %q", closeIt, buf.String())
		}
	}
}

func TestTerminalBars(t *testing.T) {
	var buf bytes.Buffer
	r := New(&buf, true)
	c := r.Steps("layers", 3)
	c.Add(3)
	c.Done()
	r.Wait()
	if !strings.Contains(buf.String(), "3 / 3") {
		t.Fatalf("bar output = %q", buf.String())
	}
}

// TestGrowingTotal: a writer whose total grows as it goes (ggcr's push) and whose bytes restart
// on a retry still prints a fixed total and rising numbers; success ends at 100 %.
func TestGrowingTotal(t *testing.T) {
	var buf bytes.Buffer
	r := New(&buf, false)
	ch, finish := r.Updates("push", 2000)
	for _, u := range []v1.Update{{Complete: 600, Total: 600}, {Complete: 900, Total: 1400}, {Complete: 500, Total: 1400},
		{Complete: 1200, Total: 1800}, {Complete: 1700, Total: 2100}} {
		ch <- u
	}
	finish(nil)
	want := "push: 30% (600 of 2000 bytes)\npush: 60% (1200 of 2000 bytes)\npush: 85% (1700 of 2000 bytes)\npush: 100% (2000 of 2000 bytes)\n"
	if buf.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

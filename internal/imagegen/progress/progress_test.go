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
		ch, stop := r.Updates("push")
		for i := int64(1); i <= 4; i++ {
			ch <- v1.Update{Complete: i * 250, Total: 1000}
		}
		if closeIt {
			close(ch)
		}
		stop()
		stop() // twice is fine
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

package orchestrator

import (
	"slices"
	"testing"
)

func TestRedactHeaders(t *testing.T) {
	argv := []string{"ffmpeg", "-headers", "Authorization: Bearer secret\r\nX-A: b\r\n", "-i", "http://h/s.m3u8"}
	got := redactHeaders(argv)
	want := []string{"ffmpeg", "-headers", "<2 headers>", "-i", "http://h/s.m3u8"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q", got)
	}
	if argv[2] != "Authorization: Bearer secret\r\nX-A: b\r\n" {
		t.Fatal("redactHeaders changed its input")
	}
}

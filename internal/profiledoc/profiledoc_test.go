package profiledoc

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/profiles"
)

var update = flag.Bool("update", false, "rewrite docs/reference/profiles.md from profiles/")

const page = "../../docs/reference/profiles.md"

// TestReferenceMatchesProfiles fails when docs/reference/profiles.md and profiles/*.json differ.
func TestReferenceMatchesProfiles(t *testing.T) {
	set, err := profiles.Load()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Replace(string(doc), Tables(set))
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		tmp := page + ".tmp"
		if err := os.WriteFile(tmp, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, page); err != nil {
			t.Fatal(err)
		}
		return
	}
	if want != string(doc) {
		t.Fatalf("%s is out of date with profiles/: run `go test ./internal/profiles/profiledoc -update`", page)
	}
	for _, name := range append(set.OriginNames(), set.SwarmNames()...) {
		if !strings.Contains(string(doc), "| `"+name+"` |") {
			t.Errorf("profile %s has no table row", name)
		}
	}
}

func TestReplaceNeedsMarkers(t *testing.T) {
	if _, err := Replace("no markers", "x"); err == nil {
		t.Fatal("Replace accepted a page without markers")
	}
	got, err := Replace("a\n"+Begin+"\nold\n"+End+"\nb", "new\n")
	if err != nil || got != "a\n"+Begin+"\nnew\n"+End+"\nb" {
		t.Fatalf("Replace = %q, %v", got, err)
	}
}

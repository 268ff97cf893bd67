package closure

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seed adds every captured sample in testdata and a few broken shapes to the corpus.
func seed(f *testing.F) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		f.Fatalf("no JSON samples in testdata: %v", err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{"", "[]", "{}", "null", `[{"path":""}]`, `{"x":null}`,
		`{"exportReferencesGraph":{"a":[]},"a":[{"path":"/nix/store/x"}]}`,
		`[{"path":"a","narHash":{"algorithm":"sha256","hash":"x"},"narSize":1}]`} {
		f.Add([]byte(s))
	}
}

// checkParsed holds for anything a parser accepts: whole store paths with SRI hashes that
// normalise to themselves, and New either accepts or rejects the set without panicking.
func checkParsed(t *testing.T, paths []*StorePath) {
	for _, p := range paths {
		if p.Path == "" || !strings.HasPrefix(p.NarHash, "sha256-") || p.NarSize < 0 {
			t.Fatalf("accepted a bad entry: %+v", p)
		}
		if h, err := normalizeHash(p.NarHash); err != nil || h != p.NarHash {
			t.Fatalf("hash %q does not normalise to itself: %q %v", p.NarHash, h, err)
		}
	}
	if tops := Tops(paths); len(tops) > 0 {
		if g, err := New(tops, paths); err == nil && len(g.Paths) == 0 {
			t.Fatal("New accepted an empty closure")
		}
	}
}

func FuzzParsePathInfo(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		paths, err := ParsePathInfo(bytes.NewReader(data))
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error: %q", err)
			}
			return
		}
		checkParsed(t, paths)
	})
}

func FuzzParseExportReferencesGraph(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		paths, err := ParseExportReferencesGraph(bytes.NewReader(data))
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error: %q", err)
			}
			return
		}
		checkParsed(t, paths)
	})
}

func FuzzParseClosureInfo(f *testing.F) {
	reg, err := os.ReadFile("testdata/registration")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(reg)
	f.Add([]byte("/nix/store/x\nsha256:1\n1\n\n1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		paths, err := parseRegistration(bytes.NewReader(data), "registration")
		if err != nil {
			return
		}
		checkParsed(t, paths)
	})
}

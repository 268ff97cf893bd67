package spec

import (
	"strings"
	"testing"
)

// FuzzLoad: any input either loads or fails with one line; it never panics.
func FuzzLoad(f *testing.F) {
	for _, seed := range []string{
		`{"name":"x","entrypoint":["/bin/x"],"healthcheck":{"test":["CMD","/bin/x"],"interval":"1s"}}`,
		`{"name":`, `[]`, `{"a\nb":1}`, `{"maxLayers":"x"}`, "{\n\"a\":1}", `{"user":{"uid":-1}}`, `null`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := Load(strings.NewReader(in), "fuzz.json")
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error: %q", err)
			}
			return
		}
		s.SetDefaults()
		if err := s.Validate(t.TempDir()); err != nil && strings.Contains(err.Error(), "\n") {
			t.Fatalf("multi-line validation error: %q", err)
		}
	})
}

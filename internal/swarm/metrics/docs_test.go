package metrics

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestEverySeriesDocumented: docs/reference/metrics.md lists every hls_swarm_ family the
// registry exports, and nothing the registry does not.
func TestEverySeriesDocumented(t *testing.T) {
	b, err := os.ReadFile("../../../docs/reference/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `(hls_swarm_[a-z_]+)`").FindAllStringSubmatch(string(b), -1) {
		documented[m[1]] = true
	}
	c := New("test")
	feed(c)
	fams, err := c.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var exported []string
	for _, f := range fams {
		if name := f.GetName(); strings.HasPrefix(name, Namespace+"_") {
			exported = append(exported, name)
			if !documented[name] {
				t.Errorf("%s is exported but not in docs/reference/metrics.md", name)
			}
		}
	}
	for name := range documented {
		if !slices.Contains(exported, name) {
			t.Errorf("docs/reference/metrics.md lists %s, which the registry does not export", name)
		}
	}
}

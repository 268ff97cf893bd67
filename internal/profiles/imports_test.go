package profiles

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDataImportsNoCode: profiles are data at the bottom of the one-way flow (DESIGN.md), so no
// package under internal/profiles may import internal/origin or internal/swarm, even indirectly.
func TestDataImportsNoCode(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-test", "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	const mod = "github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/"
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, mod+"origin") || strings.HasPrefix(dep, mod+"swarm") {
			t.Errorf("internal/profiles depends on %s", dep)
		}
	}
}

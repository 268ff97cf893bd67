package browser

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// TestOpenSeesRequestsAndErrors proves the detector is not blind: a page that logs an error,
// throws, and loads an image from a loopback server shows all three.
func TestOpenSeesRequestsAndErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium; skipped under -short")
	}
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.NotFound(w, r)
	}))
	defer srv.Close()
	page := filepath.Join(t.TempDir(), "bad.html")
	html := `<!DOCTYPE html><html><head><meta charset="utf-8"><title>bad</title></head><body>
<img src="` + srv.URL + `/pixel.png" alt="">
<script>console.error("on purpose"); throw new Error("thrown on purpose");</script>
</body></html>`
	if err := os.WriteFile(page, []byte(html), 0o644); err != nil {
		t.Fatal(err)
	}
	p := Open(t, page, 800)
	t.Logf("errors %q; requests %q; charts %v; origin hits %d", p.Errors, p.Requests, p.Charts, hits.Load())
	joined := strings.Join(p.Errors, "\n")
	if !strings.Contains(joined, "on purpose") || !strings.Contains(joined, "thrown on purpose") {
		t.Errorf("console error or exception not seen: %q", p.Errors)
	}
	if len(p.Requests) != 1 || p.Requests[0] != srv.URL+"/pixel.png" {
		t.Errorf("requests %q, want the image", p.Requests)
	}
	if len(p.Charts) != 0 {
		t.Errorf("charts on a page without Chart.js: %v", p.Charts)
	}
}

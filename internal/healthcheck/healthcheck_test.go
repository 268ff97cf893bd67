package healthcheck

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

func TestProbe(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			fmt.Fprintln(w, "ok")
		case "/slow":
			<-r.Context().Done() // until the probe gives up
		case "/redirect":
			http.Redirect(w, r, "/ok", http.StatusFound)
		default:
			http.Error(w, "no", http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	closed := fmt.Sprintf("http://127.0.0.1:%d/healthz", testenv.FreePort(t))
	tests := []struct {
		url  string
		want string // "" = healthy
	}{
		{srv.URL + "/ok", ""},
		{srv.URL + "/down", "503 Service Unavailable"},
		{srv.URL + "/redirect", "302 Found"},
		{srv.URL + "/slow", "deadline exceeded"},
		{closed, "connection refused"},
		{"::bad", "bad URL"},
	}
	for _, tt := range tests {
		err := Probe(context.Background(), tt.url, 500*time.Millisecond)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.url, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: err = %v, want %q", tt.url, err, tt.want)
		}
	}
}

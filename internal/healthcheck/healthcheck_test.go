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

func TestDefaultURL(t *testing.T) {
	tests := []struct {
		target Target
		env    map[string]string
		want   string
	}{
		{Swarm, nil, "http://127.0.0.1:9100/healthz"},
		{Swarm, map[string]string{"METRICS_PORT": "9200"}, "http://127.0.0.1:9200/healthz"},
		{Swarm, map[string]string{"METRICS_PORT": "9200", "SWARM_METRICS_PORT": "9300"}, "http://127.0.0.1:9300/healthz"},
		{Swarm, map[string]string{"ORIGIN_PORT": "9000"}, "http://127.0.0.1:9100/healthz"},
		{Origin, nil, "http://127.0.0.1:8080/health"},
		{Origin, map[string]string{"ORIGIN_PORT": "9000"}, "http://127.0.0.1:9000/health"},
		{Origin, map[string]string{"ORIGIN_PORT": "", "METRICS_PORT": "9200"}, "http://127.0.0.1:8080/health"},
	}
	for _, tc := range tests {
		lookup := func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }
		if got := DefaultURL(tc.target, lookup); got != tc.want {
			t.Errorf("DefaultURL(%d, %v) = %s, want %s", tc.target, tc.env, got, tc.want)
		}
	}
}

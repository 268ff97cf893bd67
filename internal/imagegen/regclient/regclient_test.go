package regclient

import (
	"net/http"
	"strings"
	"testing"
)

func TestLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1:5000": true, "127.0.0.2": true, "localhost": true, "localhost:5000": true, "[::1]:5000": true,
		"reg.localhost:80": true, "10.0.0.5:5000": false, "192.168.1.2": false, "ghcr.io": false, "example.com:5000": false,
	} {
		if got := Loopback(host); got != want {
			t.Errorf("Loopback(%q) = %v, want %v", host, got, want)
		}
	}
}

// TestPlainHTTP: plain HTTP is refused to a registry off this machine (an RFC 1918 address,
// which go-containerregistry would otherwise try over HTTP) unless --insecure.
func TestPlainHTTP(t *testing.T) {
	for _, tc := range []struct {
		url      string
		insecure bool
		refused  bool
	}{
		{"http://10.1.2.3:5000/v2/", false, true},
		{"http://registry.example:5000/v2/", false, true},
		{"http://10.1.2.3:5000/v2/", true, false},
		{"http://127.0.0.1:1/v2/", false, false},
	} {
		req, _ := http.NewRequest(http.MethodGet, tc.url, nil)
		g := &plainHTTPGuard{inner: roundTripFunc(func(*http.Request) (*http.Response, error) { return &http.Response{StatusCode: 200}, nil }), insecure: tc.insecure}
		_, err := g.RoundTrip(req)
		if refused := err != nil && strings.Contains(err.Error(), "pass --insecure"); refused != tc.refused {
			t.Errorf("%s insecure=%v: err %v, want refused=%v", tc.url, tc.insecure, err, tc.refused)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

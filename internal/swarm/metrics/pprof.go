//go:build pprof

package metrics

import (
	"net/http"
	"net/http/pprof"
)

// Built with -tags pprof (GOFLAGS=-tags=pprof make bench-swarm), the metrics server also serves
// Go's profiles under /debug/pprof/, e.g.
// go tool pprof http://127.0.0.1:9100/debug/pprof/profile?seconds=30. Never in a normal build:
// the metrics port listens on every interface by default.
func init() {
	debugHandlers = func(mux *http.ServeMux) {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
}

package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Server serves /metrics, /healthz and /readyz for one Collector.
//
//   - /metrics: the Prometheus text (or OpenMetrics) exposition of the collector's registry.
//   - /healthz: 200 "ok" while the process is alive and serving.
//   - /readyz: 200 "ready" once at least one client has received a media segment, else 503.
type Server struct {
	ln  net.Listener
	srv *http.Server
	err chan error
}

// Listen binds addr (host:port; port 0 picks a free one) and starts serving in the background.
func Listen(addr string, c *Collector) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listener on %s: %w (choose another port with --metrics-port or --metrics-addr)", addr, err)
	}
	s := &Server{ln: ln, srv: &http.Server{Handler: Handler(c), ReadHeaderTimeout: 10 * time.Second}, err: make(chan error, 1)}
	go func() {
		err := s.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.err <- err
	}()
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Shutdown stops the server, letting in-flight scrapes finish until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	if err := s.srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("stop metrics server: %w", err)
	}
	return <-s.err
}

// debugHandlers adds Go's profiling endpoints in a build with -tags pprof (pprof.go).
var debugHandlers = func(*http.ServeMux) {}

// Handler is the HTTP handler behind Server, for embedding in another mux.
func Handler(c *Collector) http.Handler {
	mux := http.NewServeMux()
	debugHandlers(mux)
	mux.Handle("GET /metrics", promhttp.HandlerFor(c.Gatherer(), promhttp.HandlerOpts{Registry: c.runtime, EnableOpenMetrics: true}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if !c.Ready() {
			http.Error(w, "not ready: no client has received a segment yet", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	return mux
}

package orchestrator_test

import (
	"context"
	"net"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/event"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

// frontServer serves a live origin's directory over plain net/http on 127.0.0.1 and lets a
// test inject faults: fail(segmentNumber) picks a status for a segment (0 = serve it), and
// Down/Up close and reopen the listener (connection refused in between).
type frontServer struct {
	t    *testing.T
	dir  string
	fail func(seg int) int
	addr string
	// hold, if set, says until when segment responses wait (the zero time: they do not).
	hold func() time.Time

	mu  sync.Mutex
	srv *http.Server
}

func startFront(t *testing.T, dir string, fail func(int) int) *frontServer {
	f := &frontServer{t: t, dir: dir, fail: fail}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = l.Addr().String()
	f.serve(l)
	t.Cleanup(f.Down)
	return f
}

func (f *frontServer) URL() string { return "http://" + f.addr + "/stream.m3u8" }

func (f *frontServer) handler() http.Handler {
	files := http.FileServer(http.Dir(f.dir))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := path.Base(r.URL.Path)
		if num, ok := strings.CutPrefix(strings.TrimSuffix(name, ".ts"), "stream_"); ok && strings.HasSuffix(name, ".ts") && f.fail != nil {
			if n, err := strconv.Atoi(num); err == nil {
				if code := f.fail(n); code != 0 {
					http.Error(w, http.StatusText(code), code)
					return
				}
			}
		}
		if f.hold != nil && strings.HasSuffix(name, ".ts") {
			if until := f.hold(); time.Now().Before(until) {
				time.Sleep(time.Until(until)) // the origin holding the response, not a test wait
			}
		}
		files.ServeHTTP(w, r)
	})
}

func (f *frontServer) serve(l net.Listener) {
	srv := &http.Server{Handler: f.handler()}
	f.mu.Lock()
	f.srv = srv
	f.mu.Unlock()
	go func() { _ = srv.Serve(l) }()
}

// Down closes the listener and every connection.
func (f *frontServer) Down() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.srv != nil {
		_ = f.srv.Close()
		f.srv = nil
	}
}

// Up listens on the same address again.
func (f *frontServer) Up() {
	l, err := net.Listen("tcp", f.addr)
	if err != nil {
		f.t.Fatalf("listen on %s again: %v", f.addr, err)
	}
	f.serve(l)
}

// TestFaultSegmentErrors: the origin answers 404 or 500 for some segments; the errors are
// reported by status code and the clients go on playing.
func TestFaultSegmentErrors(t *testing.T) {
	o := startOrigin(t)
	cfg, _ := swarmConfig(t, 3)
	front := startFront(t, o.Dir, func(seg int) int {
		switch seg % 6 {
		case 2:
			return http.StatusNotFound
		case 4:
			return http.StatusInternalServerError
		}
		return 0
	})
	cfg.URL, cfg.Duration = front.URL(), 15*time.Second
	rec := &recorder{}
	if err := runSwarm(t, cfg, rec); err != nil {
		t.Fatal(err)
	}
	byStatus := map[int]int{}
	var lastError time.Time
	for _, e := range rec.all(event.Request, failed) {
		if e.Class != event.ClassHTTP || !isSegment(e) {
			t.Errorf("failed attempt of class %q for %s %s, want only HTTP errors of segments", e.Class, e.Object, e.URL)
		}
		byStatus[e.Status]++
		if e.Time.After(lastError) {
			lastError = e.Time
		}
	}
	if byStatus[404] == 0 || byStatus[500] == 0 {
		t.Fatalf("HTTP errors by status %v, want 404s and 500s", byStatus)
	}
	if byStatus[0] != 0 {
		t.Errorf("%d errors without a status on a reachable origin", byStatus[0])
	}
	// Each client went on requesting segments after its errors and played to the end.
	segs := rec.perClientMatch(event.Request, isSegment)
	for i := 0; i < 3; i++ {
		if segs[i] < 8 {
			t.Errorf("client %d: %d segment requests", i, segs[i])
		}
	}
	if n := len(rec.all(event.Request, func(e event.Event) bool { return okSegment(e) && e.Time.After(lastError) })); n == 0 {
		t.Errorf("no segment request after the last error at %s", lastError)
	}
	t.Logf("errors by status %v, segment requests %v, exits %v", byStatus, segs, rec.all(event.ClientExited, nil))
}

// TestFaultOriginDown: the origin refuses connections for 10 s, then comes back; every client
// plays again (FFmpeg 5.1 gives up on a dead live playlist and exits, the supervisor restarts it).
func TestFaultOriginDown(t *testing.T) {
	o := startOrigin(t)
	cfg, _ := swarmConfig(t, 3)
	front := startFront(t, o.Dir, nil)
	cfg.URL = front.URL()
	rec := &recorder{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runSwarmCtx(ctx, cfg, rec) }()
	t.Cleanup(func() { cancel(); <-done })

	testenv.WaitFor(t, 60*time.Second, "3 clients to play", func() bool { return len(rec.perClientMatch(event.Request, okSegment)) == 3 })
	front.Down()
	downAt := time.Now()
	testenv.WaitFor(t, 30*time.Second, "errors while the origin is down", func() bool {
		return len(rec.all(event.Request, func(e event.Event) bool { return failed(e) && e.Time.After(downAt) })) > 0
	})
	time.Sleep(time.Until(downAt.Add(10 * time.Second)))
	front.Up()
	upAt := time.Now()
	testenv.WaitFor(t, 60*time.Second, "every client to request segments again", func() bool {
		return len(rec.perClientMatch(event.Request, func(e event.Event) bool { return okSegment(e) && e.Time.After(upAt) })) == 3
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	done <- nil
	// While the origin was down, every failed attempt is a refused (or reset) connection, and
	// every refused connection is one attempt.
	classes := map[string]int{}
	for _, e := range rec.all(event.Request, func(e event.Event) bool { return failed(e) && e.Time.After(downAt) && e.Time.Before(upAt) }) {
		classes[e.Class]++
		if e.Status != 0 {
			t.Errorf("failed attempt with a status while the origin was down: %+v", e)
		}
	}
	if classes[event.ClassRefused] == 0 {
		t.Errorf("failed attempts while down by class %v, want refused ones", classes)
	}
	t.Logf("failed attempts while down by class %v, exits %v, restarts %d", classes, reasons(rec), rec.count(event.ClientRestartScheduled))
}

func reasons(r *recorder) map[string]int {
	m := map[string]int{}
	for _, e := range r.all(event.ClientExited, nil) {
		m[e.Reason]++
	}
	return m
}

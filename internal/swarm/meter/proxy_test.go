package meter

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/event"
)

type recorder struct {
	mu  sync.Mutex
	evs []event.Event
}

func (r *recorder) Handle(e event.Event) { r.mu.Lock(); r.evs = append(r.evs, e); r.mu.Unlock() }

func (r *recorder) all() []event.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event.Event(nil), r.evs...)
}

const master = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1000\nlow/index.m3u8\n"
const media = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:1\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:2.0,\nseg1.m4s\n#EXTINF:1.5,\nseg2.m4s\n#EXT-X-ENDLIST\n"

// origin serves a master, a media playlist, segments (seg2 is 404), and counts connections.
func origin(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/master.m3u8":
			w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
			io.WriteString(w, master)
		case "/low/index.m3u8":
			w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
			io.WriteString(w, media)
		case "/low/init.mp4":
			w.Write(make([]byte, 100))
		case "/low/seg1.m4s":
			w.Header().Set("Content-Length", "200000") // as nginx and file servers send segments
			w.Write(make([]byte, 200000))
		default:
			http.NotFound(w, r)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

func proxyClient(t *testing.T, p *Proxy) *http.Client {
	u, _ := url.Parse(p.URL())
	return &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(u), MaxConnsPerHost: 1}}
}

func TestProxyMeasuresEachAttempt(t *testing.T) {
	srv, conns := origin(t)
	rec := &recorder{}
	p, err := Listen(Options{Client: 4, Sink: rec})
	if err != nil {
		t.Fatal(err)
	}
	c := proxyClient(t, p)
	for _, path := range []string{"/master.m3u8", "/low/index.m3u8", "/low/init.mp4", "/low/seg1.m4s", "/low/seg2.m4s"} {
		resp, err := c.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	c.CloseIdleConnections()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		object string
		status int
		bytes  int64
		class  string
		media  time.Duration
	}{
		{event.ObjectMaster, 200, int64(len(master)), "", 0},
		{event.ObjectMedia, 200, int64(len(media)), "", 0},
		{event.ObjectInit, 200, 100, "", 0},
		{event.ObjectSegment, 200, 200000, "", 2 * time.Second},
		{event.ObjectSegment, 404, int64(len("404 page not found\n")), event.ClassHTTP, 1500 * time.Millisecond},
	}
	got := rec.all()
	if len(got) != len(want) {
		t.Fatalf("%d events, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		e := got[i]
		if e.Kind != event.Request || e.Client != 4 || e.Object != w.object || e.Status != w.status || e.Bytes != w.bytes ||
			e.Class != w.class || e.Media != w.media || e.TTFB <= 0 || e.Elapsed < e.TTFB {
			t.Errorf("event %d = %+v, want %+v", i, e, w)
		}
		if e.Reused != (i > 0) {
			t.Errorf("event %d reused=%v, want %v (one kept-alive connection)", i, e.Reused, i > 0)
		}
	}
	if got[1].Ended != true {
		t.Error("ENDLIST media playlist not reported as VOD")
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("origin saw %d connections, want 1 (the client's one connection)", n)
	}
}

// TestProxyConnectionsOneToOne: each client connection gets its own origin connection.
func TestProxyConnectionsOneToOne(t *testing.T) {
	srv, conns := origin(t)
	p, err := Listen(Options{Client: 0, Sink: &recorder{}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for i := 0; i < 3; i++ {
		c := proxyClient(t, p)
		for j := 0; j < 2; j++ {
			resp, err := c.Get(srv.URL + "/low/init.mp4")
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		c.CloseIdleConnections()
	}
	if n := conns.Load(); n != 3 {
		t.Errorf("origin saw %d connections for 3 client connections", n)
	}
}

func TestProxyRefusedIsOneAttempt(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	rec := &recorder{}
	p, err := Listen(Options{Client: 1, Sink: rec})
	if err != nil {
		t.Fatal(err)
	}
	c := proxyClient(t, p)
	for i := 0; i < 3; i++ {
		if resp, err := c.Get("http://" + addr + "/stream.m3u8"); err == nil {
			resp.Body.Close()
			t.Fatal("a request to a closed port succeeded")
		}
	}
	p.Close()
	got := rec.all()
	if len(got) != 3 {
		t.Fatalf("%d events for 3 refused connections: %+v", len(got), got)
	}
	for _, e := range got {
		if e.Class != event.ClassRefused || e.Status != 0 || e.Object != event.ObjectMedia {
			t.Errorf("refused attempt recorded as %+v", e)
		}
	}
}

// TestProxyCountsWhatTheOriginSent: a client that leaves mid-body still has the whole body
// counted, as the origin counts it.
func TestProxyCountsWhatTheOriginSent(t *testing.T) {
	srv, _ := origin(t)
	rec := &recorder{}
	p, err := Listen(Options{Client: 2, Sink: rec})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", strings.TrimPrefix(p.URL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "GET %s/low/seg1.m4s HTTP/1.1\r\nHost: %s\r\n\r\n", srv.URL, strings.TrimPrefix(srv.URL, "http://"))
	br := bufio.NewReader(conn)
	if _, err := http.ReadResponse(br, nil); err != nil {
		t.Fatal(err)
	}
	conn.Close() // before reading the body
	p.Close()
	got := rec.all()
	if len(got) != 1 || got[0].Bytes != 200000 || got[0].Class != "" || got[0].Status != 200 {
		t.Fatalf("events %+v, want one 200 of 200000 bytes", got)
	}
}

// TestProxySplicedBodies: a body of known length is spliced socket to socket and measured
// exactly: the client gets the origin's bytes, and when the origin ends the connection early
// or stops sending, the attempt has the bytes it sent and the class of the failure. A chunked
// body takes the copying path, with the same measure.
func TestProxySplicedBodies(t *testing.T) {
	body := make([]byte, 3<<20)
	for i := range body {
		body[i] = byte(i * 7 / 3)
	}
	release := make(chan struct{})
	defer close(release)
	// partial answers with a Content-Length of 300000 and sends only its first 100000 bytes.
	partial := func(w http.ResponseWriter) net.Conn {
		conn, bw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return nil
		}
		fmt.Fprintf(bw, "HTTP/1.1 200 OK\r\nContent-Length: 300000\r\n\r\n")
		bw.Write(body[:100000])
		bw.Flush()
		return conn
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/whole.ts":
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.Header().Set("X-Origin", "whole")
			w.Write(body)
		case "/chunked.ts":
			w.Write(body)
		case "/closes.ts":
			if c := partial(w); c != nil {
				c.Close()
			}
		case "/stalls.ts":
			if c := partial(w); c != nil {
				<-release
				c.Close()
			}
		}
	}))
	defer srv.Close()
	tests := []struct {
		path    string
		bytes   int64
		class   string
		spliced bool
	}{
		{"/whole.ts", int64(len(body)), "", true},
		{"/chunked.ts", int64(len(body)), "", false},
		{"/closes.ts", 100000, event.ClassReset, true},
		{"/stalls.ts", 100000, event.ClassTimeout, true},
	}
	for _, tt := range tests {
		t.Run(strings.TrimPrefix(tt.path, "/"), func(t *testing.T) {
			rec := &recorder{}
			p, err := Listen(Options{Client: 3, Sink: rec, Timeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			before := splicedBytes.Load()
			c := proxyClient(t, p)
			resp, err := c.Get(srv.URL + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if tt.path == "/whole.ts" && (resp.Header.Get("X-Origin") != "whole" || resp.ContentLength != int64(len(body))) {
				t.Errorf("client got header %v, length %d: not the origin's", resp.Header, resp.ContentLength)
			}
			got, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			c.CloseIdleConnections()
			p.Close()
			if tt.class == "" && (rerr != nil || !bytes.Equal(got, body)) {
				t.Errorf("client got %d bytes (%v), want the origin's %d", len(got), rerr, len(body))
			}
			if tt.class != "" && (rerr == nil || !bytes.Equal(got, body[:len(got)])) {
				t.Errorf("client got %d bytes and error %v, want a prefix of the body and an error", len(got), rerr)
			}
			evs := rec.all()
			if len(evs) != 1 || evs[0].Status != 200 || evs[0].Bytes != tt.bytes || evs[0].Class != tt.class {
				t.Fatalf("events %+v, want one 200 of %d bytes, class %q", evs, tt.bytes, tt.class)
			}
			if spliced := splicedBytes.Load() - before; (spliced > 0) != (tt.spliced && runtime.GOOS == "linux") {
				t.Errorf("%d bytes spliced, want spliced=%v on %s", spliced, tt.spliced, runtime.GOOS)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&net.DNSError{Err: "no such host", Name: "x"}, event.ClassDNS},
		{io.ErrUnexpectedEOF, event.ClassReset},
		{&net.OpError{Op: "read", Err: timeoutErr{}}, event.ClassTimeout},
		{fmt.Errorf("other"), event.ClassOther},
	}
	for _, tt := range tests {
		if got := classify(tt.err); got != tt.want {
			t.Errorf("classify(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// TestProxyRedialsClosedKeepAlive: the origin closed an idle kept-alive connection; the next
// request goes on a new one (as FFmpeg does), not recorded as a failure.
func TestProxyRedialsClosedKeepAlive(t *testing.T) {
	srv, conns := origin(t)
	rec := &recorder{}
	p, err := Listen(Options{Client: 0, Sink: rec})
	if err != nil {
		t.Fatal(err)
	}
	c := proxyClient(t, p)
	for i := 0; i < 2; i++ {
		resp, err := c.Get(srv.URL + "/low/init.mp4")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		srv.CloseClientConnections() // the origin's keep-alive timeout
	}
	c.CloseIdleConnections()
	p.Close()
	got := rec.all()
	if len(got) != 2 || got[0].Class != "" || got[1].Class != "" || got[1].Status != 200 {
		t.Fatalf("events %+v, want two successful attempts", got)
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("origin saw %d connections, want 2", n)
	}
}

// TestProxyHTTPS: a CONNECT is terminated with the run's CA and measured like plain HTTP; an
// origin certificate the proxy does not trust is one attempt of class tls.
func TestProxyHTTPS(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(make([]byte, 200000))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.StartTLS()
	defer srv.Close()
	ca, err := NewCA()
	if err != nil {
		t.Fatal(err)
	}
	originRoots := x509.NewCertPool()
	originRoots.AddCert(srv.Certificate())
	clientRoots := x509.NewCertPool()
	clientRoots.AppendCertsFromPEM(ca.PEM())

	for _, trusted := range []bool{true, false} {
		rec := &recorder{}
		o := Options{Client: 3, Sink: rec, CA: ca, OriginTLS: &tls.Config{RootCAs: x509.NewCertPool()}}
		if trusted {
			o.OriginTLS = &tls.Config{RootCAs: originRoots}
		}
		p, err := Listen(o)
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(p.URL())
		c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(u), TLSClientConfig: &tls.Config{RootCAs: clientRoots}}}
		for i := 0; i < 2; i++ {
			resp, err := c.Get(srv.URL + "/seg.ts")
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			} else if trusted {
				t.Fatal(err)
			}
		}
		c.CloseIdleConnections()
		p.Close()
		got := rec.all()
		if trusted {
			if len(got) != 2 || got[0].Status != 200 || got[0].Bytes != 200000 || !strings.HasPrefix(got[0].URL, "https://") ||
				got[0].Object != event.ObjectSegment || got[1].Reused != true {
				t.Errorf("https attempts %+v", got)
			}
			if n := conns.Load(); n != 1 {
				t.Errorf("origin saw %d TLS connections for one client connection", n)
			}
		} else if len(got) == 0 || got[0].Class != event.ClassTLS || got[0].Status != 0 {
			t.Errorf("untrusted origin: attempts %+v, want class tls", got)
		}
	}
}

// BenchmarkProxyThroughput is the metering proxy's throughput limit on loopback: one client
// connection fetching 4 MB bodies through it (b.SetBytes: the MB/s column), against a
// loopback origin; the same fetched directly is the peer in the same run. Bodies with a
// Content-Length (as nginx and file servers send segments) are spliced socket to socket;
// "proxy-chunked" is the path that copies through user space (chunked bodies, playlists, HTTPS).
func BenchmarkProxyThroughput(b *testing.B) {
	body := make([]byte, 4<<20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/chunked.ts" {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		}
		w.Write(body)
	}))
	defer srv.Close()
	fetch := func(b *testing.B, c *http.Client, path string) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			resp, err := c.Get(srv.URL + path)
			if err != nil {
				b.Fatal(err)
			}
			if n, _ := io.Copy(io.Discard, resp.Body); n != int64(len(body)) {
				b.Fatalf("got %d bytes, want %d", n, len(body))
			}
			resp.Body.Close()
		}
	}
	proxied := func(b *testing.B, path string) {
		p, err := Listen(Options{Sink: event.SinkFunc(func(event.Event) {})})
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close()
		u, _ := url.Parse(p.URL())
		fetch(b, &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(u)}}, path)
	}
	b.Run("direct", func(b *testing.B) { fetch(b, &http.Client{}, "/seg.ts") })
	b.Run("proxy", func(b *testing.B) { proxied(b, "/seg.ts") })
	b.Run("proxy-chunked", func(b *testing.B) { proxied(b, "/chunked.ts") })
}

// TestProxyCloseCutsNoFailure: at the swarm's end a client has gone mid-body and the proxy is
// still reading the rest from a slow origin when Close cuts the connection. That is the
// swarm's own end, not a failure of the origin: one 200 with the bytes received, no class.
func TestProxyCloseCutsNoFailure(t *testing.T) {
	release, started := make(chan struct{}), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "200000")
		w.Write(make([]byte, 1000))
		w.(http.Flusher).Flush()
		close(started)
		select { // the rest never comes before the proxy gives up draining
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	rec := &recorder{}
	p, err := Listen(Options{Client: 1, Sink: rec})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", strings.TrimPrefix(p.URL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "GET %s/seg.ts HTTP/1.1\r\nHost: %s\r\n\r\n", srv.URL, strings.TrimPrefix(srv.URL, "http://"))
	<-started
	conn.Close() // the client leaves mid-body, as FFmpeg does when the swarm stops it
	p.Close()    // cuts the drain after drainTimeout
	got := rec.all()
	if len(got) != 1 || got[0].Status != 200 || got[0].Class != "" || got[0].Bytes != 1000 {
		t.Fatalf("events %+v, want one 200 of 1000 bytes and no failure class", got)
	}
}

func TestProcs(t *testing.T) {
	tests := []struct{ clients, cpus, want int }{
		{1, 2, 1}, {200, 2, 1}, {2000, 2, 1}, {2001, 2, 2}, {10000, 2, 2}, {10000, 64, 5}, {0, 4, 1},
	}
	for _, tt := range tests {
		if got := Procs(tt.clients, tt.cpus); got != tt.want {
			t.Errorf("Procs(%d, %d) = %d, want %d", tt.clients, tt.cpus, got, tt.want)
		}
	}
}

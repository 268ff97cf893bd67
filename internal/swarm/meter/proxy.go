// Package meter is the swarm's measuring proxy: each FFmpeg client sends its HTTP through a
// loopback listener of its own (FFmpeg's -http_proxy), which records every attempt exactly.
//
// Each connection a client opens is forwarded over one connection of its own to the origin,
// opened when the first request arrives and closed with it, so the origin sees the same
// connections and keep-alive as without the proxy. Nothing is pooled across connections or
// clients. Per attempt (a request that got a response, or a failed connection) it emits one
// event.Request: what was asked for (master or media playlist, segment, init, key — from the
// client's own playlists, parsed with grafov/m3u8), status, body bytes received from the
// origin, time to first byte, download time, connection reuse and the class of a failure.
//
// When a client goes away in the middle of a body, the proxy still reads the rest from the
// origin (bounded by the timeout), so the bytes counted are the bytes the origin sent.
//
// Heads are read and forwarded as bytes (http1.go): the request with its line in origin form,
// the response exactly as the origin sent it. Bodies of known length on plain HTTP (segments,
// as origins send them) do not pass through user space: on Linux they are spliced from the
// origin socket to the client's through a pipe (splice_linux.go), counted as they leave the
// origin socket. Playlists (read whole and parsed, once per distinct copy for all clients),
// HTTPS and chunked bodies are copied. Socket reads, writes and splices are made with package
// nbio, outside the runtime's path for blocking calls.
package meter

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/event"
)

// DefaultTimeout bounds connecting to the origin and each read or write on an origin
// connection when Options.Timeout is 0.
const DefaultTimeout = 30 * time.Second

// drainTimeout is how long Close waits for connections to end before closing them.
const drainTimeout = 5 * time.Second

// maxPlaylist is the largest playlist body the proxy parses (bigger ones pass through unparsed).
const maxPlaylist = 8 << 20

// Options configure one client's proxy.
type Options struct {
	Client  int        // the client's index, carried by every event
	Sink    event.Sink // receives one event.Request per attempt
	Timeout time.Duration
	// CA, when set, lets the proxy measure HTTPS: a client's CONNECT is answered by the proxy
	// itself, which terminates the client's TLS with a certificate from CA and talks TLS to
	// the origin on a connection of its own. Without it CONNECT is refused.
	CA *CA
	// OriginTLS verifies the origin's certificate (nil: the system's roots). Its ServerName is
	// set per connection.
	OriginTLS *tls.Config
}

// Proxy is one client's metering proxy.
type Proxy struct {
	client  int
	sink    event.Sink
	timeout time.Duration
	ln      net.Listener
	cat     *catalog
	ca      *CA
	tlsConf *tls.Config

	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{} // downstream and upstream, for Close
	stats ConnStats
	// closing is set when Close cuts the connections still open after drainTimeout: what
	// that cuts short is the swarm's own end, not a failure of the origin or the network.
	closing atomic.Bool
}

// ConnStats counts one client's connections: those it opened to its proxy and those the
// proxy opened to the origin, by why. Without a redial they pair one to one.
type ConnStats struct {
	Accepted  int // client connections accepted
	Dialled   int // origin connections opened for a client connection's first request
	Redialled int // origin connections opened again after the origin closed a kept-alive one
	OtherHost int // origin connections opened because a client connection changed host
}

// Stats reports the connections so far.
func (p *Proxy) Stats() ConnStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

func (p *Proxy) count(f func(*ConnStats)) {
	p.mu.Lock()
	f(&p.stats)
	p.mu.Unlock()
}

// Listen starts a proxy on a free port of 127.0.0.1.
func Listen(o Options) (*Proxy, error) {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("meter: listen for client %d: %w (raise the open-files limit or run fewer clients)", o.Client, err)
	}
	if o.OriginTLS == nil {
		o.OriginTLS = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	p := &Proxy{client: o.Client, sink: o.Sink, timeout: o.Timeout, ln: ln, cat: newCatalog(), ca: o.CA,
		tlsConf: o.OriginTLS, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// URL is the proxy's address for FFmpeg's -http_proxy.
func (p *Proxy) URL() string { return "http://" + p.ln.Addr().String() }

// Close stops accepting, waits (up to a few seconds) for open connections to end, then closes
// what is left. Every attempt has been emitted when it returns.
func (p *Proxy) Close() error {
	err := p.ln.Close()
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	t := time.NewTimer(drainTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		p.closing.Store(true)
		p.mu.Lock()
		for c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		<-done
	}
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		c = newSockConn(c)
		p.track(c, true)
		p.count(func(s *ConnStats) { s.Accepted++ })
		p.wg.Add(1)
		go p.handle(c)
	}
}

func (p *Proxy) track(c net.Conn, add bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if add {
		p.conns[c] = struct{}{}
	} else {
		delete(p.conns, c)
	}
}

// upstream is the origin connection paired with one client connection.
type upstream struct {
	conn net.Conn      // an idleConn
	tcp  *net.TCPConn  // the plain TCP connection under conn, for splice; nil for HTTPS
	br   *bufio.Reader // reads conn
	addr string        // scheme://host:port
}

func (p *Proxy) closeUp(up *upstream) {
	if up != nil {
		up.conn.Close()
		p.track(up.conn, false)
	}
}

// session is one client connection: its reader and writer, the origin connection paired with
// it, and the buffers its exchanges reuse.
type session struct {
	p      *Proxy
	down   net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer // writes through rw
	rw     relayWriter   // to down
	up     *upstream
	tunnel string // the CONNECT authority of an HTTPS tunnel; "" for plain HTTP
	req    reqHead
	resp   respHead
	out    []byte // the request as forwarded
	head   []byte // a spliced response's head and the body bytes read with it
	body   []byte // a playlist's body as received
	data   []byte // a chunked playlist's data
	last   parsedTarget
}

// parsedTarget is the session's last request target, parsed: a client asks for its playlist
// again and again, on a connection of its own.
type parsedTarget struct {
	target, path, key string
	u                 url.URL
}

func (p *Proxy) newSession(down net.Conn, br *bufio.Reader, tunnel string) *session {
	s := &session{p: p, down: down, br: br, tunnel: tunnel, rw: relayWriter{w: down}}
	s.bw = bufio.NewWriterSize(&s.rw, 16<<10)
	return s
}

// serve answers the session's requests until one ends it; it closes the origin connection.
func (s *session) serve() {
	defer func() { s.p.closeUp(s.up) }()
	for {
		if err := readRequestHead(s.br, &s.req); err != nil {
			return
		}
		if s.req.method == http.MethodConnect && s.p.ca != nil && s.tunnel == "" && s.up == nil {
			s.p.tunnel(s.down, s.br, s.req.target)
			return
		}
		if !s.exchange() {
			return
		}
	}
}

// handle serves one client connection until it closes or a response ends the connection.
func (p *Proxy) handle(down net.Conn) {
	defer p.wg.Done()
	defer func() {
		down.Close()
		p.track(down, false)
	}()
	p.newSession(down, bufio.NewReader(down), "").serve()
}

// tunnel serves a client's CONNECT to authority (host:port) for HTTPS: the proxy answers it,
// completes the client's TLS handshake with a certificate from its CA, and forwards the
// requests inside as HTTPS requests of its own.
func (p *Proxy) tunnel(down net.Conn, br *bufio.Reader, authority string) {
	host, _, err := net.SplitHostPort(authority)
	if err != nil {
		host = authority
	}
	cert, err := p.ca.leaf(host)
	if err != nil {
		_, _ = io.WriteString(down, "HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
		return
	}
	if _, err := io.WriteString(down, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	tc := tls.Server(&readerConn{Conn: down, r: br}, &tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS12})
	defer tc.Close()
	_ = tc.SetDeadline(time.Now().Add(p.timeout))
	if err := tc.Handshake(); err != nil {
		return // the client gave up or does not trust the run's CA; nothing reached the origin
	}
	_ = tc.SetDeadline(time.Time{})
	p.newSession(tc, bufio.NewReader(tc), authority).serve()
}

// readerConn reads through r (which may hold bytes already read from the connection).
type readerConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *readerConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// refuse answers a request the proxy does not forward and ends the connection.
func (s *session) refuse() bool {
	_, _ = s.bw.WriteString("HTTP/1.1 501 Not Implemented\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
	_ = s.bw.Flush()
	return false
}

// requestURL is the URL the request asks for and its origin-form request target: an absolute
// http:// URI on plain HTTP, a path inside an HTTPS tunnel.
func (s *session) requestURL() (*url.URL, string, bool) {
	t := s.req.target
	u, err := url.ParseRequestURI(t)
	switch {
	case err != nil || s.req.method == http.MethodConnect:
		return nil, "", false
	case s.tunnel != "" && !u.IsAbs():
		u.Scheme, u.Host = "https", strings.TrimSuffix(s.tunnel, ":443")
		return u, t, true
	case s.tunnel == "" && u.IsAbs() && u.Scheme == "http" && u.Host != "":
		rest := t[len("http://"):]
		if i := strings.IndexAny(rest, "/?"); i >= 0 {
			rest = rest[i:]
		} else {
			rest = ""
		}
		if !strings.HasPrefix(rest, "/") {
			rest = "/" + rest
		}
		return u, rest, true
	}
	return nil, "", false
}

// exchange forwards one request and its response, emits its event and reports whether the
// client connection stays open.
func (s *session) exchange() bool {
	p, h := s.p, &s.req
	start := time.Now()
	if s.last.target != h.target {
		u, path, ok := s.requestURL()
		if !ok {
			return s.refuse()
		}
		s.last = parsedTarget{target: h.target, path: path, key: u.String(), u: *u}
	}
	if h.chunked || h.length > maxRequestBody {
		return s.refuse()
	}
	u, path, target := &s.last.u, s.last.path, s.last.key
	ent := p.cat.lookup(target)
	ev := event.Event{Kind: event.Request, Client: p.client, Time: start, URL: target, Object: ent.object, Media: ent.media}

	host := u.Host
	if s.tunnel != "" && len(h.host) > 0 {
		host = string(h.host)
	}
	s.out = append(s.out[:0], h.method...)
	s.out = append(s.out, ' ')
	s.out = append(s.out, path...)
	s.out = append(s.out, " HTTP/1."...)
	s.out = strconv.AppendInt(s.out, int64(h.minor), 10)
	s.out = append(s.out, "\r\nHost: "...)
	s.out = append(s.out, host...)
	s.out = append(s.out, "\r\n"...)
	s.out = append(s.out, h.fields...)
	s.out = append(s.out, "\r\n"...)
	if h.length > 0 {
		n := len(s.out)
		s.out = append(s.out, make([]byte, h.length)...)
		if _, err := io.ReadFull(s.br, s.out[n:]); err != nil {
			return false // the client went away in the middle of its request
		}
	}

	reused, err := s.roundTrip(u)
	ev.Reused = reused
	if err != nil && p.closing.Load() {
		return false // cut by Close at the swarm's end: no answer, and not the origin's failure
	}
	if err != nil {
		ev.Class, ev.Reason, ev.Elapsed = classify(err), err.Error(), time.Since(start)
		p.sink.Handle(ev)
		// The client sees its connection reset, as it would have seen the origin's failure.
		if tc := tcpOf(s.down); tc != nil {
			_ = tc.SetLinger(0)
		}
		return false
	}
	r := &s.resp
	ev.TTFB, ev.Status = time.Since(start), r.status
	if r.playlist && ev.Object != event.ObjectMaster {
		ev.Object = event.ObjectMedia
	}
	playlist := ev.Object == event.ObjectMaster || ev.Object == event.ObjectMedia
	var n int64
	var berr error // the origin side's
	switch dst := tcpOf(s.down); {
	case !r.hasBody(h.method):
		_, _ = s.bw.Write(r.raw)
		_ = s.bw.Flush()
	case playlist && r.status/100 == 2 && r.length <= maxPlaylist:
		n, berr = s.relayPlaylist(target, &ev)
	case dst != nil && s.up.tcp != nil && r.length > 0: // a body of known length on plain HTTP
		n, berr = s.relaySplice(dst)
	default:
		_, _ = s.bw.Write(r.raw)
		n, berr = s.relayFramed(s.bw, nil)
		_ = s.bw.Flush()
	}
	ev.Bytes, ev.Elapsed = n, time.Since(start)
	switch {
	case berr != nil && p.closing.Load():
		// Close cut the body (the client had gone; the proxy was still reading the rest at the
		// swarm's end): a response with the bytes received, not a failed attempt.
	case berr != nil:
		ev.Class, ev.Reason = classify(berr), berr.Error()
	case r.status >= 400:
		ev.Class = event.ClassHTTP
	}
	p.sink.Handle(ev)
	if berr != nil || s.rw.err != nil || r.close || h.close {
		p.closeUp(s.up)
		s.up = nil
		return false
	}
	return true
}

// relayFramed moves the response body, whatever its framing, from the origin to w as the
// origin sent it, collecting its data into keep (nil: none; see relayBody). It returns the body
// bytes received (a chunked body's data) and the origin side's error.
func (s *session) relayFramed(w io.Writer, keep *[]byte) (int64, error) {
	if s.resp.chunked {
		return relayChunked(w, s.up.br, keep, &s.resp.scratch)
	}
	return relayBody(w, s.up.br, s.resp.length, keep)
}

// relayPlaylist reads a playlist whole and parses it before the client gets any of it: the
// client may ask for a segment it lists, on another connection, right after. One larger than
// maxPlaylist passes through unparsed.
func (s *session) relayPlaylist(target string, ev *event.Event) (int64, error) {
	s.body, s.data = s.body[:0], s.data[:0]
	w := &holdWriter{buf: &s.body, head: s.resp.raw, to: s.bw}
	var keep *[]byte // the data, when it differs from the body held
	data := &s.body
	if s.resp.chunked {
		keep, data = &s.data, &s.data
	}
	n, berr := s.relayFramed(w, keep)
	if !w.spilled {
		if berr == nil {
			if obj, ended, ok := s.p.cat.learn(target, *data); ok {
				ev.Object, ev.Ended = obj, ended
			}
		}
		w.release()
	}
	_ = s.bw.Flush()
	return n, berr
}

// relaySplice writes the response head to the client, then its body of s.resp.length bytes:
// what the origin connection's reader already holds, then the rest spliced from the origin
// socket to the client's (spliceBody), never through user space. It returns what relayFramed
// does.
func (s *session) relaySplice(dst *net.TCPConn) (n int64, berr error) {
	size, up := s.resp.length, s.up
	k := int(min(int64(up.br.Buffered()), size))
	b, _ := up.br.Peek(k)
	s.head = append(append(s.head[:0], s.resp.raw...), b...)
	_, _ = up.br.Discard(k)
	n = int64(k)
	switch {
	case s.rw.err != nil: // the client has gone
	case n == size:
		_, _ = s.bw.Write(s.head)
		_ = s.bw.Flush()
	default:
		got, rerr, werr, ok := spliceBody(dst, up.tcp, s.head, size-n, s.p.timeout)
		if !ok { // no pipe to splice through: copy
			_, _ = s.bw.Write(s.head)
			got, rerr = relayBody(s.bw, up.br, size-n, nil)
			_ = s.bw.Flush()
		} else if werr != nil {
			s.rw.err = werr
		}
		n, berr = n+got, rerr
	}
	if s.rw.err != nil && berr == nil && n < size {
		// The client left mid-body: count what the origin sends, as the origin counts it.
		got, rerr := relayBody(io.Discard, up.br, size-n, nil)
		n, berr = n+got, rerr
	}
	return n, berr
}

// roundTrip sends the request (s.out) on the session's origin connection, opening it first if
// there is none (or it goes to another host), and reads the response head into s.resp. When a
// reused connection turns out closed by the origin before any byte of the response
// (keep-alive timeout), it dials once more, as FFmpeg would. Interim (1xx) responses go to the
// client as they come.
func (s *session) roundTrip(u *url.URL) (reused bool, err error) {
	p := s.p
	addr := hostPort(u)
	why := func(c *ConnStats) { c.Dialled++ }
	if s.up != nil && s.up.addr != u.Scheme+"://"+addr {
		p.closeUp(s.up)
		s.up = nil
		why = func(c *ConnStats) { c.OtherHost++ }
	}
	reused = s.up != nil
	for {
		if s.up == nil {
			p.count(why)
			if s.up, err = p.dial(u, addr); err != nil {
				return false, err
			}
		}
		_, err = s.up.conn.Write(s.out)
		if err == nil {
			err = readResponseHead(s.up.br, &s.resp)
		}
		for err == nil && s.resp.status < 200 && s.resp.status != http.StatusSwitchingProtocols {
			_, _ = s.bw.Write(s.resp.raw)
			_ = s.bw.Flush()
			err = readResponseHead(s.up.br, &s.resp)
		}
		if err == nil {
			if s.resp.status == http.StatusSwitchingProtocols {
				s.resp.close = true // the proxy speaks no other protocol
			}
			return reused, nil
		}
		p.closeUp(s.up)
		s.up = nil
		if reused && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
			errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)) {
			reused = false
			why = func(c *ConnStats) { c.Redialled++ }
			continue
		}
		return reused, err
	}
}

// dial opens an origin connection to addr (host:port) for u's scheme.
func (p *Proxy) dial(u *url.URL, addr string) (*upstream, error) {
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
	defer cancel()
	var c net.Conn
	var err error
	if u.Scheme == "https" {
		conf := p.tlsConf.Clone()
		conf.ServerName = u.Hostname()
		c, err = (&tls.Dialer{Config: conf}).DialContext(ctx, "tcp", addr)
	} else {
		c, err = (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, err
	}
	c = newSockConn(c)
	up := &upstream{conn: &idleConn{Conn: c, timeout: p.timeout}, tcp: tcpOf(c), addr: u.Scheme + "://" + addr}
	// A plain connection's reader holds a response head and the start of its body (the rest of
	// a segment is spliced); a TLS one reads whole records.
	size := 4 << 10
	if up.tcp == nil {
		size = 16 << 10
	}
	up.br = bufio.NewReaderSize(up.conn, size)
	p.track(up.conn, true)
	return up, nil
}

func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	if u.Scheme == "https" {
		return net.JoinHostPort(u.Hostname(), "443")
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

// holdWriter holds a response body (up to maxPlaylist) before anything of the response
// reaches to; past that it writes the head and what it holds, then passes the rest through.
type holdWriter struct {
	buf     *[]byte
	head    []byte
	to      io.Writer
	spilled bool
}

func (w *holdWriter) Write(p []byte) (int, error) {
	if !w.spilled && len(*w.buf)+len(p) <= maxPlaylist {
		*w.buf = append(*w.buf, p...)
		return len(p), nil
	}
	if !w.spilled {
		w.release()
		w.spilled = true
	}
	return w.to.Write(p)
}

// release writes the head and the body held.
func (w *holdWriter) release() {
	_, _ = w.to.Write(w.head)
	_, _ = w.to.Write(*w.buf)
}

// idleConn fails a read or write that makes no progress for timeout.
type idleConn struct {
	net.Conn
	timeout time.Duration
}

func (c *idleConn) Read(p []byte) (int, error) {
	_ = c.Conn.SetReadDeadline(time.Now().Add(c.timeout))
	return c.Conn.Read(p)
}

func (c *idleConn) Write(p []byte) (int, error) {
	_ = c.Conn.SetWriteDeadline(time.Now().Add(c.timeout))
	return c.Conn.Write(p)
}

// classify names the class of a failed attempt's error.
func classify(err error) string {
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var recErr tls.RecordHeaderError
	var authErr x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invErr x509.CertificateInvalidError
	var netErr net.Error
	switch {
	case errors.As(err, &dnsErr):
		return event.ClassDNS
	case errors.Is(err, syscall.ECONNREFUSED):
		return event.ClassRefused
	case errors.As(err, &certErr), errors.As(err, &recErr), errors.As(err, &authErr), errors.As(err, &hostErr), errors.As(err, &invErr):
		return event.ClassTLS
	case errors.As(err, &netErr) && netErr.Timeout():
		return event.ClassTimeout
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return event.ClassReset
	}
	return event.ClassOther
}

// ClientsPerProc is how many clients' proxies one Go P (GOMAXPROCS) serves: a client costs the
// swarm process 0.01–0.02 % of a core, so 2,000 fill under half of one. More Ps than the work
// needs cost CPU of their own: each ready connection may wake another OS thread (futex, a
// context switch), which on a small VM costs as much as the relaying itself.
const ClientsPerProc = 2000

// Procs is the GOMAXPROCS for a swarm of clients on a machine with cpus CPUs: one per
// ClientsPerProc clients, at least 1, at most cpus.
func Procs(clients, cpus int) int {
	return max(1, min(cpus, (clients+ClientsPerProc-1)/ClientsPerProc))
}

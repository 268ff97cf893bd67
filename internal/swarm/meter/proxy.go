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
// Bodies of known length on plain HTTP (segments, as origins send them) do not pass through
// user space: on Linux they are spliced from the origin socket to the client's through a pipe
// (splice_linux.go), counted as they leave the origin socket. Playlists (read whole and
// parsed, once per distinct copy for all clients), HTTPS and chunked bodies are copied.
package meter

import (
	"bufio"
	"bytes"
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
	conn net.Conn     // an idleConn
	tcp  *net.TCPConn // the plain TCP connection under conn, for splice; nil for HTTPS
	br   *bufio.Reader
	bw   *bufio.Writer // requests are written through it and flushed
	addr string
}

func (p *Proxy) closeUp(up *upstream) {
	if up != nil {
		up.conn.Close()
		p.track(up.conn, false)
	}
}

// handle serves one client connection until it closes or a response ends the connection.
func (p *Proxy) handle(down net.Conn) {
	defer p.wg.Done()
	var up *upstream
	defer func() {
		p.closeUp(up)
		down.Close()
		p.track(down, false)
	}()
	br := bufio.NewReader(down)
	bw := bufio.NewWriterSize(down, 32<<10)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if req.Method == http.MethodConnect && p.ca != nil && up == nil {
			p.tunnel(down, br, req.Host)
			return
		}
		if !p.exchange(req, down, bw, &up, "") {
			return
		}
	}
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
		fmt.Fprintf(down, "HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
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
	var up *upstream
	defer func() { p.closeUp(up) }()
	tbr := bufio.NewReader(tc)
	tbw := bufio.NewWriterSize(tc, 32<<10)
	for {
		req, err := http.ReadRequest(tbr)
		if err != nil {
			return
		}
		if !p.exchange(req, tc, tbw, &up, authority) {
			return
		}
	}
}

// readerConn reads through r (which may hold bytes already read from the connection).
type readerConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *readerConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// exchange forwards one request and its response, emits its event and reports whether the
// client connection stays open. tunnel is the CONNECT authority of an HTTPS tunnel ("" for
// plain HTTP, whose requests carry absolute URIs).
func (p *Proxy) exchange(req *http.Request, down net.Conn, bw *bufio.Writer, upp **upstream, tunnel string) bool {
	start := time.Now()
	u := *req.URL
	switch {
	case tunnel != "" && !u.IsAbs():
		u.Scheme, u.Host = "https", strings.TrimSuffix(tunnel, ":443")
	case tunnel == "" && req.Method != http.MethodConnect && u.IsAbs() && u.Scheme == "http":
	default:
		fmt.Fprintf(bw, "HTTP/1.1 501 Not Implemented\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
		bw.Flush()
		return false
	}
	target := u.String()
	ent := p.cat.lookup(target)
	ev := event.Event{Kind: event.Request, Client: p.client, Time: start, URL: target, Object: ent.object, Media: ent.media}
	req.RequestURI = ""
	req.Header.Del("Proxy-Connection")
	req.Header.Del("Proxy-Authorization")

	resp, up, reused, err := p.roundTrip(req, &u, upp)
	ev.Reused = reused
	if err != nil && p.closing.Load() {
		return false // cut by Close at the swarm's end: no answer, and not the origin's failure
	}
	if err != nil {
		ev.Class, ev.Reason, ev.Elapsed = classify(err), err.Error(), time.Since(start)
		p.sink.Handle(ev)
		// The client sees its connection reset, as it would have seen the origin's failure.
		if tc, ok := down.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		return false
	}
	ev.TTFB, ev.Status = time.Since(start), resp.StatusCode
	if isPlaylistType(resp.Header.Get("Content-Type")) && ev.Object != event.ObjectMaster {
		ev.Object = event.ObjectMedia
	}
	playlist := ev.Object == event.ObjectMaster || ev.Object == event.ObjectMedia
	var n int64          // body bytes received from the origin
	var berr, derr error // the origin side's and the client side's
	if dst, ok := down.(*net.TCPConn); ok && up.tcp != nil && !playlist && spliceable(req, resp) {
		n, berr, derr = p.relaySplice(resp, bw, dst, up)
	} else {
		n, berr, derr = p.relayCopy(resp, bw, down, target, playlist, &ev)
	}
	ev.Bytes, ev.Elapsed = n, time.Since(start)
	switch {
	case berr != nil && p.closing.Load():
		// Close cut the body (the client had gone; the proxy was still reading the rest at the
		// swarm's end): a response with the bytes received, not a failed attempt.
	case berr != nil:
		ev.Class, ev.Reason = classify(berr), berr.Error()
	case resp.StatusCode >= 400:
		ev.Class = event.ClassHTTP
	}
	p.sink.Handle(ev)
	if berr != nil || derr != nil || resp.Close || req.Close {
		p.closeUp(up)
		*upp = nil
		return false
	}
	return true
}

// relayCopy writes resp to the client through user space: the path for playlists (read whole
// and parsed first), HTTPS, and bodies of unknown length. It returns the body bytes received
// from the origin and the errors of either side.
func (p *Proxy) relayCopy(resp *http.Response, bw *bufio.Writer, down net.Conn, target string, playlist bool, ev *event.Event) (int64, error, error) {
	body := &meteredBody{r: resp.Body}
	resp.Body = body
	if playlist && resp.StatusCode/100 == 2 && resp.ContentLength <= maxPlaylist {
		// A playlist is read whole and parsed before the client gets its last byte: the client
		// may ask for a segment it lists, on another connection, right after.
		b, _ := io.ReadAll(io.LimitReader(body, maxPlaylist+1))
		if body.err == nil && len(b) <= maxPlaylist {
			if obj, ended, ok := p.cat.learn(target, b); ok {
				ev.Object, ev.Ended = obj, ended
			}
		}
		resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(b), body))
	}
	dw := &downWriter{w: down}
	bw.Reset(dw)
	werr := resp.Write(bw)
	if werr == nil {
		werr = bw.Flush()
	}
	if werr != nil && body.err == nil && dw.err != nil {
		// The client left mid-body: count what the origin sends, as the origin counts it.
		_, _ = io.Copy(io.Discard, body)
	}
	bw.Reset(down)
	_ = body.r.Close()
	return body.n, body.err, dw.err
}

// spliceable reports whether resp's body can be moved socket to socket: a GET answered with a
// body of known length (not chunked).
func spliceable(req *http.Request, resp *http.Response) bool {
	return req.Method == http.MethodGet && resp.ContentLength > 0 && len(resp.TransferEncoding) == 0 &&
		resp.StatusCode >= 200 && resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusNotModified
}

// relaySplice writes resp's head to the client, then its body of resp.ContentLength bytes: what
// the origin connection's reader already holds, then the rest spliced from the origin socket to
// the client's (spliceBody), never through user space. Its results are relayCopy's.
func (p *Proxy) relaySplice(resp *http.Response, bw *bufio.Writer, dst *net.TCPConn, up *upstream) (n int64, berr, derr error) {
	size := resp.ContentLength
	dw := &downWriter{w: dst}
	bw.Reset(dw)
	defer bw.Reset(dst)
	writeHead(bw, resp)
	k := int(min(int64(up.br.Buffered()), size))
	b, _ := up.br.Peek(k)
	_, _ = bw.Write(b)
	_, _ = up.br.Discard(k)
	n = int64(k)
	_ = bw.Flush()
	if dw.err == nil && n < size {
		got, rerr, werr, ok := spliceBody(dst, up.tcp, size-n, p.timeout)
		if !ok { // no pipe to splice through: copy
			got, rerr, werr = copyBody(dw, up.conn, size-n)
		}
		n, berr, derr = n+got, rerr, werr
	}
	if dw.err != nil {
		derr = dw.err
	}
	if derr != nil && berr == nil && n < size {
		// The client left mid-body: count what the origin sends, as the origin counts it.
		got, rerr, _ := copyBody(io.Discard, up.conn, size-n)
		n, berr = n+got, rerr
	}
	return n, berr, derr
}

// writeHead writes resp's status line and header as Response.Write does (the header in map
// order: its order carries no meaning).
func writeHead(w *bufio.Writer, resp *http.Response) {
	text := strings.TrimPrefix(resp.Status, strconv.Itoa(resp.StatusCode)+" ")
	if text == "" {
		text = http.StatusText(resp.StatusCode)
	}
	b := w.AvailableBuffer()
	b = append(b, "HTTP/"...)
	b = strconv.AppendInt(b, int64(resp.ProtoMajor), 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, int64(resp.ProtoMinor), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(resp.StatusCode), 10)
	b = append(b, ' ')
	b = append(b, text...)
	b = append(b, "\r\n"...)
	// The values come from a parsed response: no CR or LF in them.
	for k, vs := range resp.Header {
		for _, v := range vs {
			b = append(b, k...)
			b = append(b, ": "...)
			b = append(b, v...)
			b = append(b, "\r\n"...)
		}
	}
	if resp.Close && !headerHasToken(resp.Header, "Connection", "close") {
		b = append(b, "Connection: close\r\n"...)
	}
	b = append(b, "\r\n"...)
	_, _ = w.Write(b)
}

func headerHasToken(h http.Header, key, token string) bool {
	for _, v := range h.Values(key) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// copyBody copies the next n bytes from r (the origin) to w (the client) through user space.
// After w fails it keeps reading into nothing, so the count is what the origin sent. rerr is
// io.ErrUnexpectedEOF when r ends early.
func copyBody(w io.Writer, r io.Reader, n int64) (got int64, rerr, werr error) {
	buf := make([]byte, min(n, 32<<10))
	for got < n {
		k, err := r.Read(buf[:min(int64(len(buf)), n-got)])
		got += int64(k)
		if k > 0 && werr == nil {
			if _, werr = w.Write(buf[:k]); werr != nil {
				w = io.Discard
			}
		}
		if err == io.EOF && got < n {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return got, err, werr
		}
	}
	return got, nil, werr
}

// roundTrip sends req on the client connection's origin connection, opening it first if there
// is none (or it goes to another host). When a reused connection turns out closed by the origin
// before any byte of the response (keep-alive timeout), it dials once more, as FFmpeg would.
func (p *Proxy) roundTrip(req *http.Request, u *url.URL, upp **upstream) (*http.Response, *upstream, bool, error) {
	addr := hostPort(u)
	up := *upp
	why := func(s *ConnStats) { s.Dialled++ }
	if up != nil && up.addr != u.Scheme+"://"+addr {
		p.closeUp(up)
		up, *upp = nil, nil
		why = func(s *ConnStats) { s.OtherHost++ }
	}
	reused := up != nil
	for {
		if up == nil {
			p.count(why)
			ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
			var c net.Conn
			var err error
			if u.Scheme == "https" {
				conf := p.tlsConf.Clone()
				conf.ServerName = u.Hostname()
				c, err = (&tls.Dialer{Config: conf}).DialContext(ctx, "tcp", addr)
			} else {
				c, err = (&net.Dialer{}).DialContext(ctx, "tcp", addr)
			}
			cancel()
			if err != nil {
				return nil, nil, false, err
			}
			up = &upstream{conn: &idleConn{Conn: c, timeout: p.timeout}, addr: u.Scheme + "://" + addr}
			up.tcp, _ = c.(*net.TCPConn)
			up.br = bufio.NewReader(up.conn)
			up.bw = bufio.NewWriterSize(up.conn, 1024)
			p.track(up.conn, true)
			*upp = up
		}
		err := req.Write(up.bw) // a bufio.Writer: Write neither wraps nor flushes it
		if err == nil {
			err = up.bw.Flush()
		}
		var resp *http.Response
		if err == nil {
			resp, err = http.ReadResponse(up.br, req)
		}
		if err == nil {
			return resp, up, reused, nil
		}
		p.closeUp(up)
		up, *upp = nil, nil
		// ReadResponse reports an EOF before the status line as io.ErrUnexpectedEOF.
		if reused && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
			errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)) {
			reused = false
			why = func(s *ConnStats) { s.Redialled++ }
			continue
		}
		return nil, nil, reused, err
	}
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

// meteredBody counts what is read from the origin.
type meteredBody struct {
	r   io.ReadCloser
	n   int64
	err error // a read error other than EOF
}

func (b *meteredBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += int64(n)
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}

// Close does nothing: Response.Write closes the body when the client goes away, and the proxy
// still reads the rest (see exchange); the origin body is closed there.
func (b *meteredBody) Close() error { return nil }

// downWriter remembers a write error towards the client.
type downWriter struct {
	w   io.Writer
	err error
}

func (d *downWriter) Write(p []byte) (int, error) {
	n, err := d.w.Write(p)
	if err != nil && d.err == nil {
		d.err = err
	}
	return n, err
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
// swarm process about 0.02 % of a core, so 2,000 fill under half of one. More Ps than the work
// needs cost CPU of their own: each ready connection may wake another OS thread (futex, a
// context switch), which on a small VM costs as much as the relaying itself.
const ClientsPerProc = 2000

// Procs is the GOMAXPROCS for a swarm of clients on a machine with cpus CPUs: one per
// ClientsPerProc clients, at least 1, at most cpus.
func Procs(clients, cpus int) int {
	return max(1, min(cpus, (clients+ClientsPerProc-1)/ClientsPerProc))
}

package meter

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/event"
)

// reader is a small bufio.Reader, so that long lines take readLine's scratch path.
func reader(s string) *bufio.Reader { return bufio.NewReaderSize(strings.NewReader(s), 16) }

func TestReadRequestHead(t *testing.T) {
	long := strings.Repeat("x", 100)
	tests := []struct {
		name, in string
		method   string
		target   string
		host     string
		fields   string
		close    bool
		length   int64
		err      bool
	}{
		{name: "proxy GET", in: "GET http://o:8080/a/b.ts?x=1 HTTP/1.1\r\nHost: o:8080\r\nUser-Agent: Lavf\r\nProxy-Connection: keep-alive\r\nproxy-authorization: Basic eA==\r\nConnection: keep-alive\r\n\r\n",
			method: "GET", target: "http://o:8080/a/b.ts?x=1", host: "o:8080", fields: "User-Agent: Lavf\r\nConnection: keep-alive\r\n"},
		{name: "bare LF, blank line before", in: "\r\nGET http://o/ HTTP/1.1\nAccept: */*\n\n", method: "GET", target: "http://o/", fields: "Accept: */*\r\n"},
		{name: "close", in: "GET http://o/ HTTP/1.1\r\nConnection: foo, Close\r\n\r\n", method: "GET", target: "http://o/", fields: "Connection: foo, Close\r\n", close: true},
		{name: "HTTP/1.0", in: "GET http://o/ HTTP/1.0\r\n\r\n", method: "GET", target: "http://o/", close: true},
		{name: "HTTP/1.0 keep-alive", in: "GET http://o/ HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", method: "GET", target: "http://o/", fields: "Connection: Keep-Alive\r\n"},
		{name: "body", in: "POST http://o/ HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", method: "POST", target: "http://o/", fields: "Content-Length: 3\r\n", length: 3},
		{name: "long line", in: "GET http://o/" + long + " HTTP/1.1\r\nX-Long: " + long + "\r\n\r\n", method: "GET", target: "http://o/" + long, fields: "X-Long: " + long + "\r\n"},
		{name: "no version", in: "GET http://o/\r\n\r\n", err: true},
		{name: "HTTP/2", in: "GET http://o/ HTTP/2.0\r\n\r\n", err: true},
		{name: "folded", in: "GET http://o/ HTTP/1.1\r\nA: b\r\n c\r\n\r\n", err: true},
		{name: "space in name", in: "GET http://o/ HTTP/1.1\r\nA b: c\r\n\r\n", err: true},
		{name: "bad length", in: "GET http://o/ HTTP/1.1\r\nContent-Length: -1\r\n\r\n", err: true},
		{name: "two lengths", in: "GET http://o/ HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", err: true},
		{name: "cut", in: "GET http://o/ HTTP/1.1\r\nA: b", err: true},
		{name: "too large", in: "GET http://o/ HTTP/1.1\r\n" + strings.Repeat("A: "+long+"\r\n", maxHead/100) + "\r\n", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h reqHead
			err := readRequestHead(reader(tt.in), &h)
			if tt.err {
				if err == nil {
					t.Fatalf("no error for %q", tt.in)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if h.method != tt.method || h.target != tt.target || string(h.host) != tt.host || string(h.fields) != tt.fields || h.close != tt.close || h.length != tt.length {
				t.Errorf("got method %q target %q host %q fields %q close %v length %d", h.method, h.target, h.host, h.fields, h.close, h.length)
			}
		})
	}
	var h reqHead
	if err := readRequestHead(reader(""), &h); err != io.EOF {
		t.Errorf("closed connection: %v, want io.EOF", err)
	}
}

func TestReadResponseHead(t *testing.T) {
	tests := []struct {
		name, in       string
		status         int
		length         int64
		chunked, close bool
		playlist       bool
		raw            string
		err            error
	}{
		{name: "length", in: "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nContent-Type: application/vnd.apple.mpegurl; charset=utf-8\r\n\r\nbody",
			status: 200, length: 12, playlist: true},
		{name: "chunked", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\nContent-Length: 9\r\n\r\n", status: 200, length: -1, chunked: true},
		{name: "other encoding", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", status: 200, length: -1, close: true},
		{name: "until close", in: "HTTP/1.1 200 OK\r\nContent-Type: video/mp2t\r\n\r\n", status: 200, length: -1, close: true},
		{name: "no body", in: "HTTP/1.1 304 Not Modified\r\n\r\n", status: 304, length: -1},
		{name: "1.0", in: "HTTP/1.0 404 Not Found\nContent-Length: 0\n\n", status: 404, length: 0, close: true,
			raw: "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n"},
		{name: "1.0 keep-alive", in: "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", status: 200, length: 0},
		{name: "close", in: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", status: 200, length: 0, close: true},
		{name: "no reason", in: "HTTP/1.1 204\r\n\r\n", status: 204, length: -1},
		{name: "nothing", in: "", err: io.EOF},
		{name: "cut", in: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n", err: io.ErrUnexpectedEOF},
		{name: "not HTTP", in: "SSH-2.0-OpenSSH\r\n\r\n", err: errMalformed},
		{name: "bad status", in: "HTTP/1.1 20 OK\r\n\r\n", err: errMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h respHead
			err := readResponseHead(reader(tt.in), &h)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("error %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			raw := tt.raw
			if raw == "" {
				raw = tt.in[:strings.Index(tt.in, "\r\n\r\n")+4]
			}
			if h.status != tt.status || h.length != tt.length || h.chunked != tt.chunked || h.close != tt.close || h.playlist != tt.playlist || string(h.raw) != raw {
				t.Errorf("got status %d length %d chunked %v close %v playlist %v raw %q", h.status, h.length, h.chunked, h.close, h.playlist, h.raw)
			}
		})
	}
}

func TestRelayChunked(t *testing.T) {
	in := "5;ext=1\r\nhello\r\n1A\r\n" + strings.Repeat("z", 26) + "\r\n0\r\nTrailer: t\r\n\r\n"
	var out bytes.Buffer
	var keep, scratch []byte
	br := reader(in + "HTTP/1.1 next")
	n, err := relayChunked(&out, br, &keep, &scratch)
	if err != nil || n != 31 || out.String() != in || string(keep) != "hello"+strings.Repeat("z", 26) {
		t.Errorf("relayChunked = %d, %v; out %q, kept %q", n, err, out.String(), keep)
	}
	if rest, _ := io.ReadAll(br); string(rest) != "HTTP/1.1 next" {
		t.Errorf("read past the body: left %q", rest)
	}
	for cut, want := range map[string]error{"5\r\nhel": io.ErrUnexpectedEOF, "5\r\nhello": io.ErrUnexpectedEOF,
		"5\r\nhelloXX": io.ErrUnexpectedEOF, "5\r\nhelloXX\r\n": errMalformed, "zz\r\n": errMalformed, "0\r\n": io.ErrUnexpectedEOF} {
		n, err := relayChunked(io.Discard, reader(cut), nil, &scratch)
		if !errors.Is(err, want) {
			t.Errorf("%q: error %v (%d bytes), want %v", cut, err, n, want)
		}
	}
}

func TestRelayBody(t *testing.T) {
	var out bytes.Buffer
	n, err := relayBody(&out, reader("until the origin closes"), -1, nil)
	if n != 23 || err != nil || out.String() != "until the origin closes" {
		t.Errorf("until close: %d, %v, %q", n, err, out.String())
	}
	n, err = relayBody(io.Discard, reader("short"), 10, nil)
	if n != 5 || err != io.ErrUnexpectedEOF {
		t.Errorf("short body: %d, %v", n, err)
	}
}

// TestProxyForwardsRequests: the origin gets the client's request in origin form, with Host
// from the URL, the client's own headers, its body, and none of the proxy's headers; interim,
// chunked, unframed and HEAD responses reach the client as the origin sent them, and a chunked
// playlist is parsed.
func TestProxyForwardsRequests(t *testing.T) {
	type seen struct {
		line, host, ua, proxyConn, body string
	}
	got := make(chan seen, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method + " " + r.RequestURI + " " + r.Proto, r.Host, r.UserAgent(), r.Header.Get("Proxy-Connection"), string(b)}
		switch r.URL.Path {
		case "/live.m3u8": // chunked
			w.Header().Set("Content-Type", "application/x-mpegURL")
			io.WriteString(w, "#EXTM3U\n#EXT-X-TARGETDURATION:2\n")
			w.(http.Flusher).Flush()
			io.WriteString(w, "#EXTINF:2.0,\ns1.ts\n")
		case "/raw":
			conn, bw, _ := http.NewResponseController(w).Hijack()
			bw.WriteString("HTTP/1.1 103 Early Hints\r\nLink: </s1.ts>\r\n\r\nHTTP/1.1 200 OK\r\nX-Odd:  spaced \r\n\r\nuntil close")
			bw.Flush()
			conn.Close()
		default:
			io.WriteString(w, "ok")
		}
	}))
	defer srv.Close()
	rec := &recorder{}
	p, err := Listen(Options{Client: 1, Sink: rec})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	conn, err := net.Dial("tcp", strings.TrimPrefix(p.URL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	authority := strings.TrimPrefix(srv.URL, "http://")
	br := bufio.NewReader(conn)
	roundTrip := func(req string) string {
		t.Helper()
		if _, err := io.WriteString(conn, req); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		return fmt.Sprintf("%d %q %s", resp.StatusCode, b, resp.TransferEncoding)
	}
	if r := roundTrip(fmt.Sprintf("POST %s/form?a=1 HTTP/1.1\r\nHost: elsewhere\r\nUser-Agent: Lavf/59\r\nProxy-Connection: keep-alive\r\nContent-Length: 4\r\n\r\nbody", srv.URL)); r != `200 "ok" []` {
		t.Errorf("POST: client got %s", r)
	}
	if s := <-got; s != (seen{"POST /form?a=1 HTTP/1.1", authority, "Lavf/59", "", "body"}) {
		t.Errorf("origin saw %+v", s)
	}
	if r := roundTrip(fmt.Sprintf("GET %s/live.m3u8 HTTP/1.1\r\nHost: %s\r\n\r\n", srv.URL, authority)); !strings.Contains(r, "s1.ts") || !strings.HasSuffix(r, "[chunked]") {
		t.Errorf("chunked playlist: client got %s", r)
	}
	<-got
	if _, err := fmt.Fprintf(conn, "HEAD %s HTTP/1.1\r\nHost: %s\r\n\r\n", srv.URL, authority); err != nil {
		t.Fatal(err)
	}
	if resp, err := http.ReadResponse(br, &http.Request{Method: "HEAD"}); err != nil || resp.StatusCode != 200 {
		t.Fatalf("HEAD: %v %v", resp, err)
	}
	if s := <-got; s.line != "HEAD / HTTP/1.1" {
		t.Errorf("origin saw %q", s.line)
	}
	if _, err := fmt.Fprintf(conn, "GET %s/raw HTTP/1.1\r\nHost: %s\r\n\r\n", srv.URL, authority); err != nil {
		t.Fatal(err)
	}
	<-got
	raw, _ := io.ReadAll(br) // the origin ended the body by closing: so does the proxy
	if want := "HTTP/1.1 103 Early Hints\r\nLink: </s1.ts>\r\n\r\nHTTP/1.1 200 OK\r\nX-Odd:  spaced \r\n\r\nuntil close"; string(raw) != want {
		t.Errorf("client got %q, want the origin's bytes %q", raw, want)
	}
	p.Close()
	evs := rec.all()
	if len(evs) != 4 {
		t.Fatalf("%d events, want 4: %+v", len(evs), evs)
	}
	if e := evs[1]; e.Object != event.ObjectMedia || e.Bytes != int64(len("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\ns1.ts\n")) {
		t.Errorf("chunked playlist event %+v", e)
	}
	if e := p.cat.lookup(srv.URL + "/s1.ts"); e.object != event.ObjectSegment || e.media.Seconds() != 2 {
		t.Errorf("segment listed by the chunked playlist looked up as %+v", e)
	}
	if e := evs[3]; e.Status != 200 || e.Bytes != int64(len("until close")) || e.Class != "" {
		t.Errorf("unframed body event %+v", e)
	}
}

// BenchmarkReadHeads reads an FFmpeg request head and an nginx response head as the proxy does
// (one allocation per request, its target; none per response), and as net/http's ReadRequest
// and ReadResponse did before, for comparison in the same run.
func BenchmarkReadHeads(b *testing.B) {
	req := "GET http://127.0.0.1:8080/stream_00042.ts HTTP/1.1\r\nUser-Agent: Lavf/59.27.100\r\nAccept: */*\r\nRange: bytes=0-\r\nConnection: keep-alive\r\nHost: 127.0.0.1:8080\r\nIcy-MetaData: 1\r\n\r\n"
	resp := "HTTP/1.1 206 Partial Content\r\nServer: nginx\r\nDate: Mon, 07 Dec 2026 04:00:00 GMT\r\nContent-Type: video/mp2t\r\nContent-Length: 556521\r\nLast-Modified: Mon, 07 Dec 2026 03:59:58 GMT\r\nConnection: keep-alive\r\nContent-Range: bytes 0-556520/556521\r\n\r\n"
	r := strings.NewReader(req)
	br := bufio.NewReader(r)
	next := func(s string) *bufio.Reader { r.Reset(s); br.Reset(r); return br }
	b.Run("meter", func(b *testing.B) {
		var rq reqHead
		var rs respHead
		b.ReportAllocs()
		for b.Loop() {
			if err := readRequestHead(next(req), &rq); err != nil {
				b.Fatal(err)
			}
			if err := readResponseHead(next(resp), &rs); err != nil || rs.length != 556521 {
				b.Fatal(err, rs.length)
			}
		}
	})
	b.Run("net-http", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			q, err := http.ReadRequest(next(req))
			if err != nil {
				b.Fatal(err)
			}
			if p, err := http.ReadResponse(next(resp), q); err != nil || p.ContentLength != 556521 {
				b.Fatal(err)
			}
		}
	})
}

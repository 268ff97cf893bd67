package meter

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// The proxy reads HTTP/1.x heads itself and forwards them as bytes: a request with its line
// rewritten to origin form, its Host set from the URL and its Proxy-Connection and
// Proxy-Authorization headers left out (as net/http's ReadRequest and Request.Write did); a
// response head as the origin sent it (bare LF line ends made CRLF). It parses only what framing, metering and
// connection reuse need, allocates nothing per head beyond the request's target, and keeps
// its buffers for the connection's next exchange.

// maxHead bounds a request or response head.
const (
	maxHead = 64 << 10
	// maxRequestBody bounds a request body, held so that a redial can send it again (HLS
	// clients send none).
	maxRequestBody = 1 << 20
)

// errMalformed is a head that is not HTTP/1.x.
var errMalformed = errors.New("malformed HTTP head")

// reqHead is a client's request head.
type reqHead struct {
	method, target string
	minor          int    // HTTP/1.minor
	host           []byte // the Host header's value
	close          bool   // the client ends the connection after this exchange
	length         int64  // Content-Length of the body, 0 without one
	chunked        bool   // a body with a Transfer-Encoding (not supported: answered 501)
	fields         []byte // the header lines to forward, each ending in CRLF
	scratch        []byte // see readLine
}

// respHead is an origin's response head.
type respHead struct {
	status   int
	minor    int
	length   int64  // Content-Length, -1 without one
	chunked  bool   // Transfer-Encoding ends in chunked
	encoded  bool   // some other Transfer-Encoding: the body ends when the connection does
	close    bool   // the origin ends the connection after this response
	playlist bool   // Content-Type is an HLS playlist's
	raw      []byte // the head, lines ending in CRLF
	scratch  []byte // see readLine
}

// readLine returns the next line without its line end. The slice is valid until br's next
// read, or the next use of scratch, which holds a line longer than br's buffer.
func readLine(br *bufio.Reader, scratch *[]byte) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		*scratch = append((*scratch)[:0], line...)
		for err == bufio.ErrBufferFull && len(*scratch) <= maxHead {
			line, err = br.ReadSlice('\n')
			*scratch = append(*scratch, line...)
		}
		if err == bufio.ErrBufferFull {
			return nil, fmt.Errorf("%w: a line longer than %d bytes", errMalformed, maxHead)
		}
		line = *scratch
	}
	if err != nil {
		if err == io.EOF && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// field splits a header line into its name and its value without surrounding blanks.
func field(line []byte) (name, value []byte, ok bool) {
	i := bytes.IndexByte(line, ':')
	if i <= 0 || line[0] == ' ' || line[0] == '\t' { // no name, or obsolete line folding
		return nil, nil, false
	}
	name = line[:i]
	if bytes.ContainsAny(name, " \t") {
		return nil, nil, false
	}
	return name, bytes.Trim(line[i+1:], " \t"), true
}

// parseVersion reads "HTTP/1.x"'s minor version.
func parseVersion(b []byte) (int, bool) {
	if len(b) != 8 || string(b[:7]) != "HTTP/1." || b[7] < '0' || b[7] > '9' {
		return 0, false
	}
	return int(b[7] - '0'), true
}

// hasToken reports whether the comma-separated list v holds token (any case).
func hasToken(v []byte, token string) bool {
	for len(v) > 0 {
		var t []byte
		t, v, _ = bytes.Cut(v, []byte{','})
		if bytes.EqualFold(bytes.Trim(t, " \t"), []byte(token)) {
			return true
		}
	}
	return false
}

// lastToken is the last element of the comma-separated list v.
func lastToken(v []byte) []byte {
	if i := bytes.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	return bytes.Trim(v, " \t")
}

// parseLength reads a Content-Length; a second one must agree with the first.
func parseLength(v []byte, prev int64) (int64, error) {
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil || n < 0 || (prev >= 0 && n != prev) {
		return 0, fmt.Errorf("%w: Content-Length %q", errMalformed, v)
	}
	return n, nil
}

// fieldsRead is what every head's fields say about the connection and the body's length.
type fieldsRead struct {
	closing, keepAlive bool  // Connection: close, keep-alive
	length             int64 // Content-Length, -1 without one
}

// closes reports whether the connection ends after this message, for HTTP/1.minor.
func (r fieldsRead) closes(minor int) bool { return r.closing || (minor == 0 && !r.keepAlive) }

// readFields reads a head's header lines up to the empty line (size: the bytes of the head read
// so far), notes Connection and Content-Length in r, and calls f with each line, its name and
// its value.
func readFields(br *bufio.Reader, scratch *[]byte, size int, r *fieldsRead, f func(line, name, value []byte)) error {
	*r = fieldsRead{length: -1}
	for {
		line, err := readLine(br, scratch)
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return err
		}
		if len(line) == 0 {
			return nil
		}
		if size += len(line) + 2; size > maxHead {
			return fmt.Errorf("%w: a head larger than %d bytes", errMalformed, maxHead)
		}
		name, value, ok := field(line)
		if !ok {
			return fmt.Errorf("%w: header line %q", errMalformed, line)
		}
		switch {
		case bytes.EqualFold(name, []byte("Connection")):
			r.closing = r.closing || hasToken(value, "close")
			r.keepAlive = r.keepAlive || hasToken(value, "keep-alive")
		case bytes.EqualFold(name, []byte("Content-Length")):
			if r.length, err = parseLength(value, r.length); err != nil {
				return err
			}
		}
		f(line, name, value)
	}
}

// readRequestHead reads the next request head from br into h, reusing h's buffers. io.EOF:
// the client closed the connection between requests.
func readRequestHead(br *bufio.Reader, h *reqHead) error {
	line, err := readLine(br, &h.scratch)
	for err == nil && len(line) == 0 { // empty lines before a request are allowed (RFC 9112 2.2)
		line, err = readLine(br, &h.scratch)
	}
	if err != nil {
		return err
	}
	method, rest, ok1 := bytes.Cut(line, []byte{' '})
	target, version, ok2 := bytes.Cut(rest, []byte{' '})
	minor, ok3 := parseVersion(version)
	if !ok1 || !ok2 || !ok3 || len(method) == 0 || len(target) == 0 {
		return fmt.Errorf("%w: request line %q", errMalformed, line)
	}
	h.method = methodString(method)
	h.target = string(target)
	h.minor = minor
	h.host = h.host[:0]
	h.chunked = false
	h.fields = h.fields[:0]
	var r fieldsRead
	err = readFields(br, &h.scratch, len(line)+2, &r, func(line, name, value []byte) {
		switch {
		case bytes.EqualFold(name, []byte("Host")):
			h.host = append(h.host, value...)
			return // written from the URL
		case bytes.EqualFold(name, []byte("Proxy-Connection")), bytes.EqualFold(name, []byte("Proxy-Authorization")):
			return // for this proxy, not the origin
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			h.chunked = true
		}
		h.fields = append(h.fields, line...)
		h.fields = append(h.fields, "\r\n"...)
	})
	if err != nil {
		return err
	}
	h.length = max(r.length, 0)
	h.close = r.closes(minor)
	return nil
}

// methodString avoids an allocation for the methods HLS clients send.
func methodString(b []byte) string {
	switch string(b) {
	case "GET":
		return "GET"
	case "HEAD":
		return "HEAD"
	case "CONNECT":
		return "CONNECT"
	}
	return string(b)
}

// readResponseHead reads the next response head from br into h (h.raw holds it as received).
// An error before its first byte is the connection's end as read (io.EOF, a reset, a timeout).
func readResponseHead(br *bufio.Reader, h *respHead) error {
	h.raw = h.raw[:0]
	status, err := readLine(br, &h.scratch)
	if err != nil {
		return err
	}
	h.raw = append(h.raw, status...)
	h.raw = append(h.raw, "\r\n"...)
	version, rest, _ := bytes.Cut(status, []byte{' '})
	code, _, _ := bytes.Cut(rest, []byte{' '})
	minor, ok := parseVersion(version)
	n, err := strconv.Atoi(string(code))
	if !ok || err != nil || len(code) != 3 || n < 100 {
		return fmt.Errorf("%w: status line %q", errMalformed, status)
	}
	h.status, h.minor = n, minor
	h.chunked, h.encoded, h.playlist = false, false, false
	var r fieldsRead
	err = readFields(br, &h.scratch, len(h.raw), &r, func(line, name, value []byte) {
		h.raw = append(h.raw, line...)
		h.raw = append(h.raw, "\r\n"...)
		switch {
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			h.chunked = bytes.EqualFold(lastToken(value), []byte("chunked"))
			h.encoded = !h.chunked
		case bytes.EqualFold(name, []byte("Content-Type")):
			h.playlist = isPlaylistType(value)
		}
	})
	if err != nil {
		return err
	}
	h.raw = append(h.raw, "\r\n"...)
	h.length = r.length
	h.close = r.closes(minor)
	if h.chunked || h.encoded {
		h.length = -1 // Transfer-Encoding overrides Content-Length (RFC 9112 6.3)
	}
	if h.encoded || (!h.chunked && h.length < 0 && h.hasBody("GET")) {
		h.close = true // the body ends with the connection
	}
	return nil
}

// hasBody reports whether the response to a request of method has a body (RFC 9112 6.3).
func (h *respHead) hasBody(method string) bool {
	return method != "HEAD" && h.status >= 200 && h.status != 204 && h.status != 304
}

// relayBody moves a body of n bytes (n < 0: until the origin closes) from br to w as it is,
// and collects its bytes into *keep while they fit in maxPlaylist (keep nil: none). It returns
// the bytes read; rerr is br's error (io.ErrUnexpectedEOF when a body of known length ends
// early). w never fails (see relayWriter).
func relayBody(w io.Writer, br *bufio.Reader, n int64, keep *[]byte) (got int64, rerr error) {
	for n < 0 || got < n {
		if br.Buffered() == 0 {
			if _, err := br.Peek(1); err != nil {
				if err == io.EOF {
					if n < 0 {
						return got, nil
					}
					err = io.ErrUnexpectedEOF
				}
				return got, err
			}
		}
		k := br.Buffered()
		if n >= 0 {
			k = int(min(int64(k), n-got))
		}
		b, _ := br.Peek(k)
		_, _ = w.Write(b)
		if keep != nil && len(*keep)+k <= maxPlaylist {
			*keep = append(*keep, b...)
		}
		_, _ = br.Discard(k)
		got += int64(k)
	}
	return got, nil
}

// relayChunked moves a chunked body from br to w as it is (chunk sizes, extensions and
// trailers included) and returns the data bytes its chunks carried; keep as relayBody's.
func relayChunked(w io.Writer, br *bufio.Reader, keep, scratch *[]byte) (data int64, rerr error) {
	crlf := []byte("\r\n")
	for {
		line, err := readLine(br, scratch)
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return data, err
		}
		sizeText, _, _ := bytes.Cut(line, []byte{';'})
		size, perr := strconv.ParseInt(string(bytes.Trim(sizeText, " \t")), 16, 64)
		if perr != nil || size < 0 {
			return data, fmt.Errorf("%w: chunk size %q", errMalformed, line)
		}
		_, _ = w.Write(line)
		_, _ = w.Write(crlf)
		if size == 0 {
			break
		}
		got, err := relayBody(w, br, size, keep)
		data += got
		if err != nil {
			return data, err
		}
		if line, err = readLine(br, scratch); err != nil || len(line) != 0 {
			switch err {
			case nil:
				err = fmt.Errorf("%w: no CRLF after a chunk", errMalformed)
			case io.EOF:
				err = io.ErrUnexpectedEOF
			}
			return data, err
		}
		_, _ = w.Write(crlf)
	}
	for { // trailer fields, then the empty line
		line, err := readLine(br, scratch)
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return data, err
		}
		_, _ = w.Write(line)
		_, _ = w.Write(crlf)
		if len(line) == 0 {
			return data, nil
		}
	}
}

// relayWriter writes to the client until a write fails, then discards what follows, so that
// the proxy still reads (and counts) what the origin sends. err is the first failure.
type relayWriter struct {
	w   io.Writer
	err error
}

func (d *relayWriter) Write(p []byte) (int, error) {
	if d.err != nil {
		return len(p), nil
	}
	if _, err := d.w.Write(p); err != nil {
		d.err = err
	}
	return len(p), nil
}

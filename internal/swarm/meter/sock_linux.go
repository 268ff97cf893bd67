//go:build linux

package meter

import (
	"io"
	"net"
	"os"
	"syscall"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/nbio"
)

// sockConn is a TCP connection whose reads and writes are made with package nbio on its
// non-blocking socket (not through the runtime's path for blocking calls, see nbio), still
// waiting in Go's poller (RawConn) when the socket is not ready.
type sockConn struct {
	*net.TCPConn
	rc syscall.RawConn
}

// newSockConn wraps c; it returns c itself if c gives no raw access.
func newSockConn(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	return &sockConn{TCPConn: tc, rc: rc}
}

func (c *sockConn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}

// Read reads as net.Conn's Read: io.EOF at the end, *net.OpError otherwise.
func (c *sockConn) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	var n int
	var rerr error
	err := c.rc.Read(func(fd uintptr) bool {
		n, rerr = nbio.Read(int(fd), b)
		return rerr != syscall.EAGAIN
	})
	switch {
	case err != nil:
		return 0, c.opError("read", err)
	case rerr != nil:
		return 0, c.opError("read", os.NewSyscallError("read", rerr))
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// Write writes all of b as net.Conn's Write does.
func (c *sockConn) Write(b []byte) (int, error) {
	var n int
	var werr error
	err := c.rc.Write(func(fd uintptr) bool {
		for n < len(b) {
			k, e := nbio.Write(int(fd), b[n:])
			if e == syscall.EAGAIN {
				return false
			}
			if e != nil {
				werr = e
				return true
			}
			n += k
		}
		return true
	})
	switch {
	case err != nil:
		return n, c.opError("write", err)
	case werr != nil:
		return n, c.opError("write", os.NewSyscallError("write", werr))
	}
	return n, nil
}

// tcpOf is the TCP connection under c, or nil.
func tcpOf(c net.Conn) *net.TCPConn {
	switch c := c.(type) {
	case *sockConn:
		return c.TCPConn
	case *net.TCPConn:
		return c
	}
	return nil
}

//go:build linux

package meter

import (
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sockConn is a TCP connection whose reads and writes are raw system calls on its non-blocking
// socket, still waiting in Go's poller (RawConn) when the socket is not ready.
//
// Why: a system call made through the runtime's syscall path (as net.Conn's are) wakes the
// runtime's monitor thread (sysmon) whenever it sleeps, which it does each time the process
// goes idle, and a proxy of many clients goes idle and busy hundreds of times a second; sysmon
// then polls with 20 µs sleeps for about a millisecond each time. A non-blocking read, write or
// splice never blocks, so it needs none of that. Measured: see docs/explanation/engine.md.
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
	var errno syscall.Errno
	err := c.rc.Read(func(fd uintptr) bool {
		for {
			r, _, e := unix.RawSyscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
			switch e {
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				return false
			}
			n, errno = int(r), e
			return true
		}
	})
	switch {
	case err != nil:
		return 0, c.opError("read", err)
	case errno != 0:
		return 0, c.opError("read", os.NewSyscallError("read", errno))
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// Write writes all of b as net.Conn's Write does.
func (c *sockConn) Write(b []byte) (int, error) {
	var n int
	var errno syscall.Errno
	err := c.rc.Write(func(fd uintptr) bool {
		for n < len(b) {
			r, _, e := unix.RawSyscall(unix.SYS_WRITE, fd, uintptr(unsafe.Pointer(&b[n])), uintptr(len(b)-n))
			switch e {
			case 0:
				n += int(r)
			case syscall.EINTR:
			case syscall.EAGAIN:
				return false
			default:
				errno = e
				return true
			}
		}
		return true
	})
	switch {
	case err != nil:
		return n, c.opError("write", err)
	case errno != 0:
		return n, c.opError("write", os.NewSyscallError("write", errno))
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

// rawSplice is splice(2) without the runtime's syscall path (see sockConn); the descriptors are
// non-blocking and SPLICE_F_NONBLOCK is set, so it never blocks.
func rawSplice(in, out int, n int) (int64, error) {
	r, _, e := unix.RawSyscall6(unix.SYS_SPLICE, uintptr(in), 0, uintptr(out), 0, uintptr(n), unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
	if e != 0 {
		return 0, e
	}
	return int64(r), nil
}

//go:build linux

package meter

import (
	"io"
	"net"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/nbio"
)

// pipeSize is the capacity asked for each splice pipe: a 2 s segment of a few Mb/s moves in a
// few calls. A smaller pipe (pipe-max-size, per-user pipe limits) works with more calls.
const pipeSize = 1 << 20

// pipe is a splice pipe; it is empty whenever it is in the pool.
type pipe struct{ r, w, size int }

// pipes holds idle pipes for reuse: only bodies being relayed at this instant hold one, so the
// swarm keeps a few open instead of two descriptors per client connection.
var pipes = make(chan *pipe, 32)

// splicedBytes counts the bytes spliced, for tests to see which path a body took.
var splicedBytes atomic.Int64

func getPipe() (*pipe, error) {
	select {
	case p := <-pipes:
		return p, nil
	default:
	}
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return nil, err
	}
	p := &pipe{r: fds[0], w: fds[1], size: 64 << 10}
	if n, err := unix.FcntlInt(uintptr(p.r), unix.F_SETPIPE_SZ, pipeSize); err == nil {
		p.size = n
	}
	return p, nil
}

// putPipe pools p if it is empty (all it took in was pumped out), else closes it.
func putPipe(p *pipe, empty bool) {
	if empty {
		select {
		case pipes <- p:
			return
		default:
		}
	}
	unix.Close(p.r)
	unix.Close(p.w)
}

// spliceBody sends head (the response head and any body bytes already read) to the client
// connection dst, then moves the next n body bytes from the origin connection src to dst with
// splice(2) through a pipe, so they never enter user space. When body bytes are waiting on src
// already (the usual case), head goes out with MSG_MORE, so the kernel sends it with the first
// of them: one transmission, and one wake-up of the client, instead of two.
//
// recvd counts what was taken from src (what the origin sent), whatever happens to dst. rerr is
// the origin side's error: io.ErrUnexpectedEOF when it ends the connection before n bytes, a
// timeout (os.ErrDeadlineExceeded) when a read makes no progress for timeout, as idleConn's
// reads. werr is the client side's error; it stops the relay, and the caller reads the rest.
// ok is false when splice cannot start (no pipe); then nothing was sent or moved.
func spliceBody(dst, src *net.TCPConn, head []byte, n int64, timeout time.Duration) (recvd int64, rerr, werr error, ok bool) {
	rc, err := src.SyscallConn()
	if err != nil {
		return 0, nil, nil, false
	}
	wc, err := dst.SyscallConn()
	if err != nil {
		return 0, nil, nil, false
	}
	p, err := getPipe()
	if err != nil {
		return 0, nil, nil, false
	}
	inPipe := 0
	defer func() {
		putPipe(p, inPipe == 0)
		splicedBytes.Add(recvd)
	}()
	readErr := func(err error) error {
		return &net.OpError{Op: "read", Net: "tcp", Source: src.LocalAddr(), Addr: src.RemoteAddr(), Err: err}
	}
	writeErr := func(err error) error {
		return &net.OpError{Op: "write", Net: "tcp", Source: dst.LocalAddr(), Addr: dst.RemoteAddr(), Err: err}
	}
	// What the origin has sent already, without waiting.
	var moved int64
	var serr error
	if err := rc.Control(func(fd uintptr) { moved, serr = nbio.Splice(int(fd), p.w, int(min(n, int64(p.size)))) }); err != nil {
		return 0, err, nil, true
	}
	if serr == nil && moved == 0 {
		return 0, io.ErrUnexpectedEOF, nil, true
	}
	if serr != nil && serr != syscall.EAGAIN {
		return 0, readErr(serr), nil, true
	}
	recvd, inPipe = moved, int(moved)
	more := inPipe > 0
	for len(head) > 0 {
		var k int
		var e error
		if err := wc.Write(func(fd uintptr) bool {
			k, e = nbio.Send(int(fd), head, more)
			return e != syscall.EAGAIN
		}); err != nil {
			return recvd, nil, err, true
		}
		if e != nil {
			return recvd, nil, writeErr(e), true
		}
		head = head[k:]
	}
	for {
		// Pump: all of the pipe to the client.
		for inPipe > 0 {
			var out int64
			var perr error
			if err := wc.Write(func(fd uintptr) bool {
				out, perr = nbio.Splice(p.r, int(fd), inPipe)
				return perr != syscall.EAGAIN // EAGAIN: wait until the client has read some
			}); err != nil {
				return recvd, nil, err, true
			}
			if perr != nil {
				return recvd, nil, writeErr(perr), true
			}
			inPipe -= int(out)
		}
		if recvd >= n {
			return recvd, nil, nil, true
		}
		// Drain: what the origin has sent so far, up to the pipe's room and the body's end.
		if err := src.SetReadDeadline(time.Now().Add(timeout)); err != nil {
			return recvd, err, nil, true
		}
		want := int(min(n-recvd, int64(p.size)))
		if err := rc.Read(func(fd uintptr) bool {
			moved, serr = nbio.Splice(int(fd), p.w, want)
			return serr != syscall.EAGAIN // EAGAIN: wait until the origin sends more
		}); err != nil {
			return recvd, err, nil, true // deadline, or the connection closed under us
		}
		if serr != nil {
			return recvd, readErr(serr), nil, true
		}
		if moved == 0 {
			return recvd, io.ErrUnexpectedEOF, nil, true
		}
		recvd += moved
		inPipe += int(moved)
	}
}

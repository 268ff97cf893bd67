package supervisor

import (
	"bytes"
	"errors"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/nbio"
)

// DefaultLogInterval is how often a LogReader reads its pipes.
const DefaultLogInterval = 200 * time.Millisecond

// maxLine is the longest stderr line kept whole; longer ones are cut into pieces of this size.
const maxLine = 1 << 20

// LogReader reads the stderr and progress pipes of every playing client of a swarm from one
// goroutine, all pipes at once every interval, instead of a goroutine per pipe woken for each
// write.
//
// FFmpeg writes each log line in several write(2)s (context, level, message) and a segment
// fetch logs a handful of lines at once; a reader blocked on each pipe makes the swarm process
// wake (epoll, scheduler, thread) several times per client and segment, and those wake-ups are
// most of its CPU. A client reads its own pipes as they are written until its first segment
// (so that start-up time and what happened before it are timed exactly), then hands them
// over (adopt): the read ends become raw non-blocking descriptors outside Go's poller, so
// FFmpeg's writes wake nothing, and the swarm wakes once per interval for all clients. Those
// lines and progress blocks are timestamped when read, up to an interval late; stalls (seconds)
// and counters do not notice.
type LogReader struct {
	interval time.Duration
	mu       sync.Mutex
	pipes    []*logPipe
	stop     chan struct{}
	stopped  chan struct{}
	once     sync.Once
	closed   bool // under mu: no more pipes
}

type logPipe struct {
	fd    int
	line  func(line string, now time.Time)
	carry []byte // a line not yet ended
	done  chan struct{}
}

// NewLogReader starts a reader that reads its pipes every interval (DefaultLogInterval if 0).
func NewLogReader(interval time.Duration) *LogReader {
	if interval <= 0 {
		interval = DefaultLogInterval
	}
	r := &LogReader{interval: interval, stop: make(chan struct{}), stopped: make(chan struct{})}
	go r.loop()
	return r
}

// adopt moves the read end f, which a goroutine has been reading into p (an unended line may
// be in p.carry), to r: r reads a duplicate of its descriptor from then on and f is closed,
// which takes it out of Go's poller. The returned channel is closed after the last line.
func (r *LogReader) adopt(f *os.File, p *logPipe) (<-chan struct{}, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	nfd := -1
	var dupErr error
	if err := rc.Control(func(fd uintptr) {
		syscall.ForkLock.RLock()
		defer syscall.ForkLock.RUnlock()
		nfd, dupErr = syscall.Dup(int(fd))
		if dupErr == nil {
			syscall.CloseOnExec(nfd)
		}
	}); err != nil {
		return nil, err
	}
	if dupErr != nil {
		return nil, os.NewSyscallError("dup", dupErr)
	}
	if err := syscall.SetNonblock(nfd, true); err != nil {
		syscall.Close(nfd)
		return nil, os.NewSyscallError("setnonblock", err)
	}
	p.fd, p.done = nfd, make(chan struct{})
	if err := r.add(p); err != nil {
		syscall.Close(nfd)
		return nil, err
	}
	f.Close()
	return p.done, nil
}

var errLogReaderClosed = errors.New("log reader is closed")

func (r *LogReader) add(p *logPipe) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return errLogReaderClosed
	}
	r.pipes = append(r.pipes, p)
	return nil
}

// Close stops the reader; call it once every pipe is done. Pipes still open are closed
// without reading the rest.
func (r *LogReader) Close() {
	r.once.Do(func() { close(r.stop) })
	<-r.stopped
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	for _, p := range r.pipes {
		syscall.Close(p.fd)
		close(p.done)
	}
	r.pipes = nil
}

func (r *LogReader) loop() {
	defer close(r.stopped)
	buf := make([]byte, 64<<10)
	t := time.NewTimer(r.interval)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
		}
		next := r.interval
		if r.pass(buf) {
			next = 10 * time.Millisecond // a pipe had more than buf: come back soon
		}
		t.Reset(next)
	}
}

// pass reads every pipe once (up to a few buffers each) and reports whether one had more.
func (r *LogReader) pass(buf []byte) (more bool) {
	r.mu.Lock()
	pipes := append([]*logPipe(nil), r.pipes...)
	r.mu.Unlock()
	now := time.Now()
	ready := readable(pipes)
	var ended []*logPipe
	for i, p := range pipes {
		if ready != nil && !ready[i] {
			continue
		}
		full, eof := p.read(buf, now)
		more = more || full
		if eof {
			ended = append(ended, p)
		}
	}
	if len(ended) == 0 {
		return more
	}
	r.mu.Lock()
	kept := r.pipes[:0]
	for _, p := range r.pipes {
		if !containsPipe(ended, p) {
			kept = append(kept, p)
		}
	}
	clear(r.pipes[len(kept):])
	r.pipes = kept
	r.mu.Unlock()
	for _, p := range ended {
		syscall.Close(p.fd)
		close(p.done)
	}
	return more
}

// readable asks the kernel in one poll(2) which pipes have something to read (data, or the
// writer gone): most passes find nothing in most pipes, and a read each would be a system call
// each. nil means unknown (read them all).
func readable(pipes []*logPipe) []bool {
	fds := make([]unix.PollFd, len(pipes))
	for i, p := range pipes {
		fds[i] = unix.PollFd{Fd: int32(p.fd), Events: unix.POLLIN}
	}
	if _, err := nbio.Poll(fds); err != nil {
		return nil
	}
	ready := make([]bool, len(pipes))
	for i, f := range fds {
		ready[i] = f.Revents != 0 // POLLIN, POLLHUP, POLLERR, POLLNVAL: let read tell
	}
	return ready
}

func containsPipe(ps []*logPipe, p *logPipe) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}

// read reads what p holds (at most 4 buffers) and calls p.line for each complete line. full is
// true when data may remain; eof when the writers are gone (the last partial line is flushed).
func (p *logPipe) read(buf []byte, now time.Time) (full, eof bool) {
	for range 4 {
		n, err := nbio.Read(p.fd, buf)
		switch {
		case errors.Is(err, syscall.EAGAIN):
			return false, false
		case err != nil || n == 0: // EOF, or an error that ends the pipe
			if len(p.carry) > 0 {
				p.line(string(p.carry), now)
				p.carry = nil
			}
			return false, true
		}
		p.feed(buf[:n], now)
		if n < len(buf) {
			return false, false
		}
	}
	return true, false
}

// feed splits data into lines, keeping an unended tail for the next read.
func (p *logPipe) feed(data []byte, now time.Time) {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			p.carry = append(p.carry, data...)
			for len(p.carry) >= maxLine {
				p.line(string(p.carry[:maxLine]), now)
				p.carry = append(p.carry[:0], p.carry[maxLine:]...)
			}
			return
		}
		line := data[:i]
		if len(p.carry) > 0 {
			line = append(p.carry, line...)
			p.carry = p.carry[:0]
		}
		p.line(string(bytes.TrimSuffix(line, []byte("\r"))), now)
		data = data[i+1:]
	}
}

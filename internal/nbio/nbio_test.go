//go:build linux

package nbio

import (
	"errors"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func pipe(t *testing.T) (r, w int) {
	t.Helper()
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
	return fds[0], fds[1]
}

func TestReadWritePoll(t *testing.T) {
	r, w := pipe(t)
	buf := make([]byte, 8)
	if _, err := Read(r, buf); !errors.Is(err, syscall.EAGAIN) {
		t.Fatalf("empty pipe: %v, want EAGAIN", err)
	}
	fds := []unix.PollFd{{Fd: int32(r), Events: unix.POLLIN}}
	if n, err := Poll(fds); n != 0 || err != nil {
		t.Fatalf("poll of an empty pipe = %d, %v", n, err)
	}
	if n, err := Write(w, []byte("hello")); n != 5 || err != nil {
		t.Fatalf("write = %d, %v", n, err)
	}
	if n, err := Poll(fds); n != 1 || err != nil || fds[0].Revents&unix.POLLIN == 0 {
		t.Fatalf("poll = %d, %v, revents %#x", n, err, fds[0].Revents)
	}
	if n, err := Read(r, buf); n != 5 || err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("read = %d, %v, %q", n, err, buf[:n])
	}
	unix.Close(w)
	if n, err := Read(r, buf); n != 0 || err != nil {
		t.Fatalf("read at the end = %d, %v, want 0, nil", n, err)
	}
	if n, err := Read(r, nil); n != 0 || err != nil {
		t.Fatalf("empty read = %d, %v", n, err)
	}
}

func TestSplice(t *testing.T) {
	r1, w1 := pipe(t)
	r2, w2 := pipe(t)
	_ = w2
	if _, err := Write(w1, []byte("spliced")); err != nil {
		t.Fatal(err)
	}
	n, err := Splice(r1, w2, 100)
	if errors.Is(err, syscall.ENOSYS) {
		t.Skip("no splice here")
	}
	buf := make([]byte, 16)
	k, _ := Read(r2, buf)
	if n != 7 || err != nil || string(buf[:k]) != "spliced" {
		t.Fatalf("splice = %d, %v; read %q", n, err, buf[:k])
	}
	if _, err := Splice(r1, w2, 100); !errors.Is(err, syscall.EAGAIN) {
		t.Fatalf("splice from an empty pipe: %v, want EAGAIN", err)
	}
}

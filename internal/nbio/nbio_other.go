//go:build !linux

package nbio

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// Read is read(2) on a non-blocking descriptor.
func Read(fd int, p []byte) (int, error) { return unix.Read(fd, p) }

// Write is write(2) on a non-blocking descriptor.
func Write(fd int, p []byte) (int, error) { return unix.Write(fd, p) }

// Poll is poll(2) with a zero timeout.
func Poll(fds []unix.PollFd) (int, error) { return unix.Poll(fds, 0) }

// Splice is Linux only.
func Splice(_, _, _ int) (int64, error) { return 0, syscall.ENOSYS }

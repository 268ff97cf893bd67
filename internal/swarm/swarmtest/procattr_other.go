//go:build !linux

package swarmtest

import "syscall"

// serverAttr: only Linux has a parent-death signal; elsewhere the test's cleanup kills the
// server process.
func serverAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }

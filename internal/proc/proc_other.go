//go:build !linux

package proc

import (
	"runtime"
	"syscall"
)

func lockThread() { runtime.LockOSThread() }

// setDeathSignal does nothing: only Linux has a parent-death signal.
func setDeathSignal(*syscall.SysProcAttr, syscall.Signal) {}

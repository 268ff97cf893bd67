package proc

import (
	"runtime"
	"syscall"
)

func lockThread() { runtime.LockOSThread() }

func setDeathSignal(a *syscall.SysProcAttr, sig syscall.Signal) { a.Pdeathsig = sig }

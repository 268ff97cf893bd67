package swarmtest

import "syscall"

// serverAttr has Linux SIGKILL the server process when the test process dies.
func serverAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

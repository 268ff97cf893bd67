package origin

import "syscall"

// childAttr puts the child in its own process group and has Linux send it deathSignal when
// this process dies.
func childAttr(deathSignal syscall.Signal) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: deathSignal}
}

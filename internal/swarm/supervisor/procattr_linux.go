package supervisor

import "syscall"

// childAttr puts a client in its own process group and has Linux SIGKILL it when the thread
// that started it (the spawner's locked thread) dies with the swarm.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

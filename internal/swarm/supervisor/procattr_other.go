//go:build !linux

package supervisor

import "syscall"

// childAttr puts a client in its own process group. Only Linux has a parent-death signal: on
// other systems a SIGKILLed swarm leaves its clients running (a clean stop still ends them).
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

//go:build !linux

package origin

import "syscall"

// childAttr puts the child in its own process group. Only Linux has a parent-death signal;
// elsewhere a SIGKILLed origin can leave its children behind (a clean stop still ends them).
func childAttr(syscall.Signal) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

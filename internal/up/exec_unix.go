//go:build unix

package up

import "syscall"

// execve replaces this process with path, so the target gets our PID, terminal and signals.
func execve(path string, argv, env []string) error { return syscall.Exec(path, argv, env) }

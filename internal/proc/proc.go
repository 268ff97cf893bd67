// Package proc starts child processes that die with this process: each child gets its own process
// group and, on Linux, a parent-death signal, and is forked from one OS thread that never exits.
//
// Linux sends the parent-death signal (Pdeathsig) when the *thread* that forked the child exits,
// not the process. Go moves goroutines between threads and ends threads whose goroutine exits while
// locked to them, so a child forked from an ordinary goroutine, or from a locked goroutine that later
// returns, can be killed at random while the parent is alive. Start forks every child from a single
// goroutine locked to its thread that never returns, so the signal fires only when the process dies.
// That thread is process-wide by nature (one per process, started on first use).
package proc

import (
	"os/exec"
	"sync"
	"syscall"
)

type request struct {
	cmd   *exec.Cmd
	reply chan error
}

var (
	once     sync.Once
	requests chan request
)

// Start starts cmd (cmd.Start) in its own process group, with deathSignal sent to it when this
// process dies (Linux; elsewhere a killed parent can leave the child behind). Fields already set
// in cmd.SysProcAttr are kept.
func Start(cmd *exec.Cmd, deathSignal syscall.Signal) error {
	attr := syscall.SysProcAttr{}
	if cmd.SysProcAttr != nil {
		attr = *cmd.SysProcAttr
	}
	attr.Setpgid = true
	setDeathSignal(&attr, deathSignal)
	cmd.SysProcAttr = &attr
	once.Do(startThread)
	r := request{cmd: cmd, reply: make(chan error, 1)}
	requests <- r
	return <-r.reply
}

func startThread() {
	requests = make(chan request)
	started := make(chan struct{})
	go func() {
		lockThread() // never unlocked, and this goroutine never returns: the thread lives as long as the process
		close(started)
		for r := range requests {
			r.reply <- r.cmd.Start()
		}
	}()
	<-started
}

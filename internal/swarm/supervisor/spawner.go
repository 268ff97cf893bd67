package supervisor

import (
	"errors"
	"os/exec"
	"runtime"
)

// Spawner starts child processes from one OS thread that stays alive while the children do.
//
// Linux's parent-death signal (Pdeathsig) fires when the *thread* that forked the child exits,
// not the process. Go moves goroutines between threads and retires idle threads, so a child
// started from an ordinary goroutine can be SIGKILLed at random. All children are started from
// a goroutine locked to its thread (runtime.LockOSThread, never unlocked), which only returns
// after Close — call Close once every child has been waited for. When the swarm process itself
// dies, that thread dies with it and every child gets SIGKILL.
type Spawner struct {
	reqs chan spawnReq
	done chan struct{}
}

type spawnReq struct {
	cmd   *exec.Cmd
	reply chan error
}

// ErrSpawnerClosed is returned by Start after Close.
var ErrSpawnerClosed = errors.New("spawner is closed")

// NewSpawner starts the spawning thread.
func NewSpawner() *Spawner {
	s := &Spawner{reqs: make(chan spawnReq), done: make(chan struct{})}
	started := make(chan struct{})
	go func() {
		// Never unlocked: when this goroutine returns, Go terminates the thread.
		runtime.LockOSThread()
		close(started)
		for {
			select {
			case r := <-s.reqs:
				r.reply <- r.cmd.Start()
			case <-s.done:
				return
			}
		}
	}()
	<-started
	return s
}

// Start starts cmd on the spawning thread.
func (s *Spawner) Start(cmd *exec.Cmd) error {
	r := spawnReq{cmd: cmd, reply: make(chan error, 1)}
	select {
	case s.reqs <- r:
		return <-r.reply
	case <-s.done:
		return ErrSpawnerClosed
	}
}

// Close stops the spawning thread. Children still running will get their parent-death signal.
func (s *Spawner) Close() { close(s.done) }

//go:build linux

package proc_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/proc"
)

// The helper process: starts a long sleep through proc.Start from a goroutine that then ends,
// prints the sleep's pid and waits to be killed.
func TestMain(m *testing.M) {
	// Keep the main goroutine on the main thread, so the goroutines below never lock the main thread
	// (Go never ends the main thread when a goroutine locked to it returns).
	runtime.LockOSThread()
	if os.Getenv("PROC_TEST_HELPER") == "1" {
		done := make(chan *exec.Cmd)
		go func() {
			runtime.LockOSThread() // this thread ends with the goroutine
			cmd := exec.Command("sleep", "300")
			if err := proc.Start(cmd, syscall.SIGKILL); err != nil {
				fmt.Println("error", err)
				os.Exit(1)
			}
			done <- cmd
		}()
		cmd := <-done
		fmt.Println(cmd.Process.Pid)
		_ = cmd.Wait()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// alive reports whether pid runs (exists and is not a zombie).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && len(s) > i+2 && s[i+2] != 'Z'
}

func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startFromEndingThread starts a sleep from a goroutine locked to a thread that then ends, with
// start, and returns the child once that thread is gone.
func startFromEndingThread(t *testing.T, start func(*exec.Cmd) error) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "300")
	tid := make(chan int, 1)
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: Go ends the thread when this goroutine returns
		tid <- syscall.Gettid()
		errc <- start(cmd)
	}()
	task := fmt.Sprintf("/proc/self/task/%d", <-tid)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	poll(t, task+" has ended", func() bool { _, err := os.Stat(task); return errors.Is(err, os.ErrNotExist) })
	return cmd
}

func TestChildOutlivesTheCallersThread(t *testing.T) {
	if _, err := exec.LookPath("sleep"); err != nil {
		t.Fatal("sleep is missing")
	}
	// Control: started with a parent-death signal from that thread itself, the child is killed
	// when the thread ends (the bug this package exists for), so the check below can see it.
	direct := startFromEndingThread(t, func(c *exec.Cmd) error {
		c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		return c.Start()
	})
	err := direct.Wait()
	if err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("control: a child started from an ending thread should be SIGKILLed, got %v", err)
	}

	viaProc := startFromEndingThread(t, func(c *exec.Cmd) error { return proc.Start(c, syscall.SIGKILL) })
	waited := make(chan error, 1)
	go func() { waited <- viaProc.Wait() }()
	// The control died within its poll; give this one longer to be sure, then prove it still runs.
	select {
	case err := <-waited:
		t.Fatalf("child started through proc.Start ended when the caller's thread ended: %v", err)
	case <-time.After(2 * time.Second):
	}
	if !alive(viaProc.Process.Pid) {
		t.Fatal("child started through proc.Start is not running")
	}
	pgid, err := syscall.Getpgid(viaProc.Process.Pid)
	if err != nil || pgid != viaProc.Process.Pid {
		t.Fatalf("child should lead its own process group: pgid %d, %v", pgid, err)
	}
	_ = viaProc.Process.Kill()
	<-waited
}

func TestChildDiesWithItsParent(t *testing.T) {
	helper := exec.Command(os.Args[0], "-test.run=^$")
	helper.Env = append(os.Environ(), "PROC_TEST_HELPER=1")
	out, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = helper.Process.Kill(); _ = helper.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("helper: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("helper said %q", line)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	// The starting goroutine ended long ago; the child must still run while its parent does.
	time.Sleep(500 * time.Millisecond)
	if !alive(pid) {
		t.Fatal("the helper's child died while the helper was alive")
	}
	if err := helper.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = helper.Wait()
	poll(t, "the child of the killed helper is gone", func() bool { return !alive(pid) })
}

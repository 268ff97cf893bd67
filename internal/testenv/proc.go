package testenv

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Proc is a live process as /proc shows it. Start (clock ticks after boot) tells it apart from
// a later process that reuses its PID.
type Proc struct {
	PID, PPID int
	Comm      string
	Start     string
}

// ReadProc returns pid's entry, or false when it is gone or a zombie.
func ReadProc(pid int) (Proc, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return Proc{}, false
	}
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return Proc{}, false
	}
	f := strings.Fields(s[end+1:]) // state ppid pgrp … starttime is f[19]
	if len(f) < 20 || f[0] == "Z" {
		return Proc{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	return Proc{PID: pid, PPID: ppid, Comm: s[open+1 : end], Start: f[19]}, true
}

// Alive reports whether this very process (same PID and start time) still runs.
func (p Proc) Alive() bool {
	q, ok := ReadProc(p.PID)
	return ok && q.Start == p.Start
}

// Procs lists every live process.
func Procs() []Proc {
	entries, _ := os.ReadDir("/proc")
	var out []Proc
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			if p, ok := ReadProc(pid); ok {
				out = append(out, p)
			}
		}
	}
	return out
}

// Children lists the live children of pid.
func Children(pid int) []Proc {
	var out []Proc
	for _, p := range Procs() {
		if p.PPID == pid {
			out = append(out, p)
		}
	}
	return out
}

// Descendants lists every live descendant of pid, children first.
func Descendants(pid int) []Proc {
	all := Procs()
	var out []Proc
	for queue := []int{pid}; len(queue) > 0; queue = queue[1:] {
		for _, p := range all {
			if p.PPID == queue[0] {
				out = append(out, p)
				queue = append(queue, p.PID)
			}
		}
	}
	return out
}

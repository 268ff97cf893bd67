package orchestrator_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/event"
)

// recorder is an event.Sink that keeps every event.
type recorder struct {
	mu     sync.Mutex
	events []event.Event
}

func (r *recorder) Handle(e event.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

// all returns the events of kind k that match (nil match = all of them).
func (r *recorder) all(k event.Kind, match func(event.Event) bool) []event.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []event.Event
	for _, e := range r.events {
		if e.Kind == k && (match == nil || match(e)) {
			out = append(out, e)
		}
	}
	return out
}

func (r *recorder) count(k event.Kind) int { return len(r.all(k, nil)) }

// perClient counts events of kind k per client index.
func (r *recorder) perClient(k event.Kind) map[int]int {
	m := map[int]int{}
	for _, e := range r.all(k, nil) {
		m[e.Client]++
	}
	return m
}

// perClientMatch counts events of kind k that match, per client index.
func (r *recorder) perClientMatch(k event.Kind, match func(event.Event) bool) map[int]int {
	m := map[int]int{}
	for _, e := range r.all(k, match) {
		m[e.Client]++
	}
	return m
}

// marker returns a user agent unique to one test, which appears in its FFmpeg children's
// command lines, so /proc can tell them from every other process on the machine.
func marker() string { return fmt.Sprintf("swarmtest-%016x", rand.Uint64()) }

// procsWith lists the PIDs whose command line contains s (zombies have an empty one).
func procsWith(s string) []int {
	var pids []int
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil || !strings.Contains(string(b), s) {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(d)); err == nil && pid != os.Getpid() {
			pids = append(pids, pid)
		}
	}
	return pids
}

// Matchers of the meter's event.Request.
func isSegment(e event.Event) bool { return e.Object == event.ObjectSegment }
func okSegment(e event.Event) bool { return isSegment(e) && e.Class == "" }
func failed(e event.Event) bool    { return e.Class != "" }
func isPlaylist(e event.Event) bool {
	return e.Object == event.ObjectMaster || e.Object == event.ObjectMedia
}

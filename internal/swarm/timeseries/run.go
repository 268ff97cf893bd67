package timeseries

import (
	"errors"
	"sync"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/metrics"
)

// DefaultInterval is --progress-interval's default.
const DefaultInterval = 5 * time.Second

// Series samples a running swarm every interval and passes each record to its outputs.
type Series struct {
	sampler  *Sampler
	snapshot func() (metrics.Snapshot, error)
	outputs  []Output
	stop     chan struct{}
	done     chan struct{}
	once     sync.Once

	mu  sync.Mutex
	err error // first error of an output or a snapshot
}

// Start samples from start (the run's start; duration 0: until interrupted) every interval,
// reading totals with snapshot (metrics.Collector.Snapshot).
func Start(start time.Time, duration, interval time.Duration, snapshot func() (metrics.Snapshot, error), outputs ...Output) *Series {
	s := &Series{sampler: NewSampler(start, duration), snapshot: snapshot, outputs: outputs,
		stop: make(chan struct{}), done: make(chan struct{})}
	go s.loop(start, interval)
	return s
}

func (s *Series) loop(start time.Time, interval time.Duration) {
	defer close(s.done)
	next := start.Add(interval)
	t := time.NewTimer(time.Until(next))
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		snap, err := s.snapshot()
		if err != nil {
			s.fail(err)
		} else {
			s.emit(s.sampler.Next(snap, time.Now()))
		}
		// Ticks stay on the start + k×interval grid; a late tick skips the missed ones.
		next = next.Add(interval)
		for now := time.Now(); !next.After(now); {
			next = next.Add(interval)
		}
		t.Reset(time.Until(next))
	}
}

func (s *Series) emit(r Record) {
	for _, o := range s.outputs {
		if err := o.Write(r); err != nil {
			s.fail(err)
		}
	}
}

func (s *Series) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = errors.Join(s.err, err)
}

// Stop ends the sampling; no record is made after it returns. Call it before taking the
// final snapshot.
func (s *Series) Stop() {
	s.once.Do(func() { close(s.stop) })
	<-s.done
}

// Final stops the sampling if it runs, passes the last record (the interval from the last
// record to at, totals snap: the summary's snapshot) to the outputs and returns every error
// the outputs or snapshots had during the run.
func (s *Series) Final(snap metrics.Snapshot, at time.Time) error {
	s.Stop()
	r := s.sampler.Next(snap, at)
	r.Final = true
	s.emit(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

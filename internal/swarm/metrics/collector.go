// Package metrics turns the swarm's event stream into Prometheus metrics on a private
// registry, serves them with /healthz and /readyz, and hands the same numbers to the report.
//
// Cardinality is bounded: no per-client labels; the only labels are an exit reason (a fixed
// set) and an HTTP status code (100..599, anything else is "unknown").
package metrics

import (
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/event"
)

// Namespace prefixes every metric this package defines.
const Namespace = "hls_swarm"

// ExitReasons are the values of the reason label on hls_swarm_client_exits_total; an engine's
// reason outside this list is counted as "other".
var exitReasons = []string{"clean", "error", "signal", "killed", "stopped", "other"}

// SpeedBuckets are the playback-speed histogram's upper bounds (1.0 = real time).
var speedBuckets = []float64{0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 1, 1.05, 1.1, 1.25, 1.5, 2, 3, 5}

// StartupBuckets are the time-to-first-segment histogram's upper bounds in seconds.
var startupBuckets = []float64{0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 7.5, 10, 15, 20, 30, 60}

// backoffBuckets are the restart-backoff histogram's upper bounds in seconds.
var backoffBuckets = []float64{0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30}

// maxStartupSamples bounds the raw start-up samples kept for exact percentiles.
const maxStartupSamples = 1 << 20

// Collector is an event.Sink that keeps the swarm's metrics. It is safe for concurrent use.
type Collector struct {
	reg *prometheus.Registry

	mu        sync.Mutex
	running   map[int]bool  // client → a process is running
	stalled   map[int]bool  // client → in a stall
	lastBytes map[int]int64 // client → bytes reported by its current process
	startup   []time.Duration
	peak      int
	first     time.Time // first event seen
	last      time.Time // last event seen

	target, active, stalledG prometheus.Gauge
	peakG                    prometheus.Gauge
	starts, restarts         prometheus.Counter
	exits                    *prometheus.CounterVec
	restartsScheduled        prometheus.Counter
	playlists, segments      prometheus.Counter
	bytes                    prometheus.Counter
	httpErrors               *prometheus.CounterVec
	timeouts, reconnects     prometheus.Counter
	stalls                   prometheus.Counter
	speed, firstSegment      prometheus.Histogram
	backoff                  prometheus.Histogram
}

// New returns a Collector whose registry also carries the Go runtime and process collectors
// and a build-info gauge labelled with version.
func New(version string) *Collector {
	c := &Collector{
		reg:       prometheus.NewRegistry(),
		running:   map[int]bool{},
		stalled:   map[int]bool{},
		lastBytes: map[int]int64{},
	}
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help})
	}
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help})
	}
	c.target = gauge("target_clients", "Number of clients the swarm is asked to run.")
	c.active = gauge("active_clients", "Number of client processes running now.")
	c.peakG = gauge("peak_active_clients", "Highest number of client processes running at once during this run.")
	c.stalledG = gauge("stalled_clients", "Number of clients whose playback speed has been below 1 for longer than the stall threshold.")
	c.starts = counter("client_starts_total", "Client process starts, first starts and restarts.")
	c.restarts = counter("client_restarts_total", "Client process restarts (starts after the first).")
	c.restartsScheduled = counter("client_restarts_scheduled_total", "Restarts the supervisor scheduled after a client exited.")
	c.exits = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "client_exits_total",
		Help: "Client process exits by reason (clean, error, signal, killed, stopped, other)."}, []string{"reason"})
	c.playlists = counter("playlist_requests_total", "Playlist requests made by clients.")
	c.segments = counter("segment_requests_total", "Media segment requests made by clients.")
	c.bytes = counter("received_bytes_total", "Bytes received by clients, as reported by FFmpeg progress.")
	c.httpErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "http_errors_total",
		Help: "HTTP errors seen by clients, by status code (\"unknown\" when FFmpeg gave none)."}, []string{"status"})
	c.timeouts = counter("timeouts_total", "Requests that timed out.")
	c.reconnects = counter("reconnects_total", "Reconnections to the origin.")
	c.stalls = counter("stalls_total", "Stalls started (playback speed below 1 for longer than the stall threshold).")
	c.speed = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: "playback_speed",
		Help: "Playback speed reported by clients' progress (1 = real time).", Buckets: speedBuckets})
	c.firstSegment = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: "time_to_first_segment_seconds",
		Help: "Time from a client process start to its first media segment.", Buckets: startupBuckets})
	c.backoff = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: "client_restart_backoff_seconds",
		Help: "Delay the supervisor waited before restarting a client (capped, jittered exponential backoff).", Buckets: backoffBuckets})
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: "build_info",
		Help: "Build information; the value is always 1."}, []string{"version"})
	build.WithLabelValues(version).Set(1)
	for _, r := range exitReasons {
		c.exits.WithLabelValues(r)
	}
	c.reg.MustRegister(c.target, c.active, c.peakG, c.stalledG, c.starts, c.restarts, c.restartsScheduled, c.exits,
		c.playlists, c.segments, c.bytes, c.httpErrors, c.timeouts, c.reconnects, c.stalls, c.speed,
		c.firstSegment, c.backoff, build,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return c
}

// Registry is the collector's private registry (never the global one).
func (c *Collector) Registry() *prometheus.Registry { return c.reg }

// SetTarget records how many clients the swarm is asked to run.
func (c *Collector) SetTarget(n int) { c.target.Set(float64(n)) }

// Ready reports whether at least one client has received a media segment.
func (c *Collector) Ready() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.startup) > 0
}

// Handle updates the metrics from one event. Unknown kinds are ignored.
func (c *Collector) Handle(e event.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !e.Time.IsZero() {
		if c.first.IsZero() || e.Time.Before(c.first) {
			c.first = e.Time
		}
		if e.Time.After(c.last) {
			c.last = e.Time
		}
	}
	switch e.Kind {
	case event.ClientStarted:
		c.starts.Inc()
		if e.Attempt > 0 {
			c.restarts.Inc()
		}
		c.running[e.Client] = true
		c.lastBytes[e.Client] = 0
		c.setActive()
	case event.ClientExited:
		reason := e.Reason
		if !slices.Contains(exitReasons, reason) {
			reason = "other"
		}
		c.exits.WithLabelValues(reason).Inc()
		delete(c.running, e.Client)
		c.endStall(e.Client)
		c.setActive()
	case event.ClientRestartScheduled:
		c.restartsScheduled.Inc()
		c.backoff.Observe(e.Elapsed.Seconds())
	case event.PlaylistRequest:
		c.playlists.Inc()
	case event.SegmentRequest:
		c.segments.Inc()
	case event.FirstSegment:
		c.firstSegment.Observe(e.Elapsed.Seconds())
		if len(c.startup) < maxStartupSamples {
			c.startup = append(c.startup, e.Elapsed)
		}
	case event.Progress:
		if d := e.Bytes - c.lastBytes[e.Client]; d > 0 {
			c.bytes.Add(float64(d))
		}
		if e.Bytes > c.lastBytes[e.Client] {
			c.lastBytes[e.Client] = e.Bytes
		}
		if e.Speed > 0 {
			c.speed.Observe(e.Speed)
		}
	case event.HTTPError:
		c.httpErrors.WithLabelValues(statusLabel(e.Status)).Inc()
	case event.Timeout:
		c.timeouts.Inc()
	case event.Reconnect:
		c.reconnects.Inc()
	case event.StallStarted:
		if !c.stalled[e.Client] {
			c.stalled[e.Client] = true
			c.stalls.Inc()
			c.stalledG.Set(float64(len(c.stalled)))
		}
	case event.StallEnded:
		c.endStall(e.Client)
	}
}

func (c *Collector) setActive() {
	n := len(c.running)
	c.active.Set(float64(n))
	if n > c.peak {
		c.peak = n
		c.peakG.Set(float64(n))
	}
}

func (c *Collector) endStall(client int) {
	if c.stalled[client] {
		delete(c.stalled, client)
		c.stalledG.Set(float64(len(c.stalled)))
	}
}

// statusLabel bounds the status label to real HTTP codes.
func statusLabel(code int) string {
	if code < 100 || code > 599 {
		return "unknown"
	}
	return strconv.Itoa(code)
}

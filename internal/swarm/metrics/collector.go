// Package metrics turns the swarm's event stream into Prometheus metrics on a private
// registry, serves them with /healthz and /readyz, and hands the same numbers to the report.
//
// Request counts, bytes, errors and latencies come from the metering proxy's event.Request
// (one per attempt: a request that got a response, or a failed connection), never from
// FFmpeg's log. Cardinality is bounded: no per-client labels; labels are an object kind, an
// HTTP status (100..599, else "unknown"), an error class and an exit reason, all fixed sets.
package metrics

import (
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/event"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/qoe"
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

// LatencyBuckets are the request-latency histograms' upper bounds in seconds.
var latencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30}

// Names of the latencies (Snapshot.Maxima) and of their histograms (without the
// namespace).
const (
	Startup         = "time_to_first_segment_seconds"
	SegmentTTFB     = "segment_ttfb_seconds"
	SegmentDownload = "segment_download_seconds"
	PlaylistLatency = "playlist_latency_seconds"
)

// clientState is what the collector follows per client.
type clientState struct {
	running bool
	buffer  qoe.Buffer // guarded by Collector.qmu
}

// Collector is an event.Sink that keeps the swarm's metrics. It is safe for concurrent use.
type Collector struct {
	reg     *prometheus.Registry // the swarm's own series: what Snapshot reads
	runtime *prometheus.Registry // the Go runtime's and the process's (go_*, process_*): /metrics only

	mu      sync.Mutex
	clients map[int]*clientState
	running int
	vod     bool                     // a media playlist with ENDLIST was seen
	maxima  map[string]time.Duration // largest observation of each latency (the histograms have the rest)
	peak    int
	first   time.Time // first event seen
	last    time.Time // last event seen

	// qmu guards the playback buffers; the QoE series read them at scrape time (Gather runs
	// under mu from Snapshot, so they cannot take mu).
	qmu sync.Mutex
	now func() time.Time // the QoE series' clock (tests replace it)

	target, active    prometheus.Gauge
	peakG             prometheus.Gauge
	starts, restarts  prometheus.Counter
	exits             *prometheus.CounterVec
	restartsScheduled prometheus.Counter
	attempts, bytes   *prometheus.CounterVec
	responses, errors *prometheus.CounterVec
	reused            prometheus.Counter
	series            map[seriesKey]prometheus.Counter // the request counters' children, looked up once (under mu)
	speed, backoff    prometheus.Histogram
	latency           map[string]prometheus.Histogram
}

// New returns a Collector whose /metrics also carries the Go runtime and process collectors
// and a build-info gauge labelled with version.
func New(version string) *Collector {
	c := &Collector{
		reg:     prometheus.NewRegistry(),
		runtime: prometheus.NewRegistry(),
		clients: map[int]*clientState{},
		now:     time.Now,
		maxima:  map[string]time.Duration{},
		latency: map[string]prometheus.Histogram{},
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
	c.starts = counter("client_starts_total", "Client process starts, first starts and restarts.")
	c.restarts = counter("client_restarts_total", "Client process restarts (starts after the first).")
	c.restartsScheduled = counter("client_restarts_scheduled_total", "Restarts the supervisor scheduled after a client exited.")
	c.exits = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "client_exits_total",
		Help: "Client process exits by reason (clean, error, signal, killed, stopped, other)."}, []string{"reason"})
	vec := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}, labels)
	}
	c.attempts = vec("attempts_total", "Attempts measured by the metering proxy, by object: a request that got a response, or a failed connection.", "object")
	c.responses = vec("responses_total", "Attempts that got an HTTP response from the origin, by object and status.", "object", "status")
	c.errors = vec("errors_total", "Failed attempts by object and class (http = status >= 400; refused, reset, timeout, dns, tls, other = no complete response).", "object", "class")
	c.bytes = vec("received_bytes_total", "Response body bytes received from the origin, by object.", "object")
	c.reused = counter("reused_connection_requests_total", "Attempts sent on an origin connection that carried an earlier request (keep-alive).")
	histo := func(name, help string) prometheus.Histogram {
		h := prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: name, Help: help, Buckets: latencyBuckets})
		c.latency[name] = h
		return h
	}
	histo(SegmentTTFB, "Segment requests: request sent to response header received, for segments received whole.")
	histo(SegmentDownload, "Segment requests: request sent to last body byte received, for segments received whole.")
	histo(PlaylistLatency, "Playlist requests: request sent to last body byte received, for playlists received whole.")
	for _, o := range event.Objects {
		c.attempts.WithLabelValues(o)
		c.bytes.WithLabelValues(o)
	}
	c.speed = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: "playback_speed",
		Help: "Playback speed reported by clients' progress (1 = real time).", Buckets: speedBuckets})
	c.latency[Startup] = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: Startup,
		Help: "Time from a client process start to its first media segment fully received.", Buckets: startupBuckets})
	c.backoff = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: "client_restart_backoff_seconds",
		Help: "Delay the supervisor waited before restarting a client (capped, jittered exponential backoff).", Buckets: backoffBuckets})
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: "build_info",
		Help: "Build information; the value is always 1."}, []string{"version"})
	build.WithLabelValues(version).Set(1)
	for _, r := range exitReasons {
		c.exits.WithLabelValues(r)
	}
	qoeFunc := func(name, help string, counter bool, f func(qoe.Totals) float64) prometheus.Collector {
		opts := prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help}
		get := func() float64 { return c.qoeSum(f) }
		if counter {
			return prometheus.NewCounterFunc(prometheus.CounterOpts(opts), get)
		}
		return prometheus.NewGaugeFunc(opts, get)
	}
	c.reg.MustRegister(c.target, c.active, c.peakG, c.starts, c.restarts, c.restartsScheduled, c.exits,
		c.attempts, c.responses, c.errors, c.bytes, c.reused, c.speed, c.backoff, build,
		qoeFunc("stalls_total", "Stalls of the clients' virtual playback buffers: started when a buffer ran empty while playing.", true,
			func(t qoe.Totals) float64 { return float64(t.Stalls) }),
		qoeFunc("rebuffer_seconds_total", "Time the clients' virtual playback buffers spent empty after playback started.", true,
			func(t qoe.Totals) float64 { return t.Rebuffer.Seconds() }),
		qoeFunc("watched_seconds_total", "Time from each client session's first segment to its end (playing or stalled).", true,
			func(t qoe.Totals) float64 { return t.Watched.Seconds() }),
		qoeFunc("stalled_clients", "Clients whose virtual playback buffer is empty now.", false,
			func(t qoe.Totals) float64 { return b2f(t.Stalled) }),
		qoeFunc("buffered_media_seconds", "Media in the clients' virtual playback buffers now, summed.", false,
			func(t qoe.Totals) float64 { return t.Buffered.Seconds() }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: Namespace, Name: "stream_vod",
			Help: "1 when a media playlist had EXT-X-ENDLIST (a VOD stream), else 0."}, func() float64 {
			c.qmu.Lock()
			defer c.qmu.Unlock()
			return b2f(c.vod)
		}),
		c.latency[Startup], c.latency[SegmentTTFB], c.latency[SegmentDownload], c.latency[PlaylistLatency])
	// Apart, so that Snapshot (every progress interval) does not read /proc and the runtime's
	// statistics, which only a scrape shows.
	c.runtime.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return c
}

// Gatherer is every series /metrics shows, from the collector's private registries (never the
// global one).
func (c *Collector) Gatherer() prometheus.Gatherer { return prometheus.Gatherers{c.reg, c.runtime} }

// SetTarget records how many clients the swarm is asked to run.
func (c *Collector) SetTarget(n int) { c.target.Set(float64(n)) }

// Ready reports whether at least one client has received a media segment.
func (c *Collector) Ready() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.maxima[Startup]
	return ok
}

func (c *Collector) client(i int) *clientState {
	s := c.clients[i]
	if s == nil {
		s = &clientState{}
		c.clients[i] = s
	}
	return s
}

func (c *Collector) observe(name string, d time.Duration) {
	c.latency[name].Observe(d.Seconds())
	if m, ok := c.maxima[name]; !ok || d > m {
		c.maxima[name] = d
	}
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
		cs := c.client(e.Client)
		if !cs.running {
			c.running++
		}
		cs.running = true
		c.qmu.Lock()
		cs.buffer.Start(e.Time)
		c.qmu.Unlock()
		c.setActive()
	case event.ClientExited:
		reason := e.Reason
		if !slices.Contains(exitReasons, reason) {
			reason = "other"
		}
		c.exits.WithLabelValues(reason).Inc()
		if cs := c.client(e.Client); cs.running {
			cs.running = false
			c.running--
			c.qmu.Lock()
			cs.buffer.End(e.Time)
			c.qmu.Unlock()
		}
		c.setActive()
	case event.ClientRestartScheduled:
		c.restartsScheduled.Inc()
		c.backoff.Observe(e.Elapsed.Seconds())
	case event.Request:
		c.request(e)
	case event.Progress:
		if e.Speed > 0 {
			c.speed.Observe(e.Speed)
		}
	}
}

// request counts one measured attempt.
func (c *Collector) request(e event.Event) {
	obj := e.Object
	if !slices.Contains(event.Objects, obj) {
		obj = event.ObjectOther
	}
	c.counter(c.attempts, obj, "", 0).Inc()
	if e.Status != 0 {
		c.counter(c.responses, obj, "", e.Status).Inc()
	}
	if e.Class != "" {
		class := e.Class
		if !slices.Contains(event.Classes, class) {
			class = event.ClassOther
		}
		c.counter(c.errors, obj, class, 0).Inc()
	}
	c.counter(c.bytes, obj, "", 0).Add(float64(e.Bytes))
	if e.Reused {
		c.reused.Inc()
	}
	if e.Class != "" {
		return
	}
	switch obj {
	case event.ObjectSegment:
		c.observe(SegmentTTFB, e.TTFB)
		c.observe(SegmentDownload, e.Elapsed)
		c.qmu.Lock()
		startup, first := c.client(e.Client).buffer.Segment(e.Time.Add(e.Elapsed), e.Media, e.Bytes)
		c.qmu.Unlock()
		if first {
			c.observe(Startup, startup)
		}
	case event.ObjectMaster, event.ObjectMedia:
		c.observe(PlaylistLatency, e.Elapsed)
		if e.Ended {
			c.qmu.Lock()
			c.vod = true
			c.qmu.Unlock()
		}
	}
}

// seriesKey names one child of a request counter: object, and class or status.
type seriesKey struct {
	vec    *prometheus.CounterVec
	object string
	class  string
	status int
}

// counter is vec's child for object and class or status (WithLabelValues checks and hashes its
// labels on every call, a few percent of the swarm's CPU at one call per request and series).
func (c *Collector) counter(vec *prometheus.CounterVec, object, class string, status int) prometheus.Counter {
	k := seriesKey{vec, object, class, status}
	if ctr, ok := c.series[k]; ok {
		return ctr
	}
	labels := []string{object}
	switch {
	case class != "":
		labels = append(labels, class)
	case status != 0:
		labels = append(labels, statusLabel(status))
	}
	ctr := vec.WithLabelValues(labels...)
	if c.series == nil {
		c.series = map[seriesKey]prometheus.Counter{}
	}
	c.series[k] = ctr
	return ctr
}

func (c *Collector) setActive() {
	n := c.running
	c.active.Set(float64(n))
	if n > c.peak {
		c.peak = n
		c.peakG.Set(float64(n))
	}
}

// qoeSum adds f over every client's playback buffer as of now.
func (c *Collector) qoeSum(f func(qoe.Totals) float64) float64 {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	now := c.now()
	var v float64
	for _, cs := range c.clients {
		v += f(cs.buffer.Totals(now))
	}
	return v
}

// QoE is every client's playback figures as of now, by client index.
func (c *Collector) QoE() (map[int]qoe.Totals, bool) {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	now := c.now()
	out := make(map[int]qoe.Totals, len(c.clients))
	for i, cs := range c.clients {
		out[i] = cs.buffer.Totals(now)
	}
	return out, c.vod
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// statusLabel bounds the status label to real HTTP codes.
func statusLabel(code int) string {
	if code < 100 || code > 599 {
		return "unknown"
	}
	return strconv.Itoa(code)
}

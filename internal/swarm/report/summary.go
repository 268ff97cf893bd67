// Package report turns a run's metrics snapshot into the end-of-run verdict: a summary table,
// the same summary as JSON, and k6-style thresholds that decide the exit code.
package report

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/event"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/metrics"
)

// Run describes the run a summary is about.
type Run struct {
	URL     string
	Version string
	Started time.Time
	Ended   time.Time
	// Interrupted is true when a signal ended the run before its duration.
	Interrupted bool
}

// SummaryFormat is the version of the summary JSON's layout; a reader that merges summaries
// (counters summed, histograms bucket by bucket) checks it. 2: numbers from the metering proxy.
const SummaryFormat = 2

// Summary is the end-of-run verdict. Its numbers come from one metrics.Snapshot, so they agree
// with what /metrics served at the end of the run.
type Summary struct {
	Format          int       `json:"format"`
	Version         string    `json:"version"`
	URL             string    `json:"url"`
	Started         time.Time `json:"started"`
	Ended           time.Time `json:"ended"`
	DurationSeconds float64   `json:"duration_seconds"`
	Interrupted     bool      `json:"interrupted"`

	Clients  Clients  `json:"clients"`
	Requests Requests `json:"requests"`
	Errors   Errors   `json:"errors"`
	Startup  Latency  `json:"startup"`
	// Latency: segment TTFB and download time and playlist latency, by histogram name
	// (metrics.SegmentTTFB, metrics.SegmentDownload, metrics.PlaylistLatency).
	Latency map[string]Latency `json:"latency"`

	ReceivedBytes int64            `json:"received_bytes"`
	Starts        int64            `json:"starts"`
	Restarts      int64            `json:"restarts"`
	Exits         map[string]int64 `json:"exits"`
	Playback      Playback         `json:"playback"`

	// Histograms are the raw Prometheus histograms (bounds and cumulative counts), for merging.
	Histograms map[string]metrics.Histogram `json:"histograms"`

	Thresholds []Result `json:"thresholds"`
	Pass       bool     `json:"pass"`
}

// Clients counts clients. ActiveAtEnd is counted after the swarm stopped its clients, so it is 0
// unless a client could not be stopped.
type Clients struct {
	Target      int `json:"target"`
	Peak        int `json:"peak"`
	ActiveAtEnd int `json:"active_at_end"`
}

// Requests counts attempts measured by the metering proxy. An attempt is one request that got
// a response or one failed connection; Playlists (master + media) and Segments count attempts
// of those objects.
type Requests struct {
	Total     int64 `json:"total"`
	Playlists int64 `json:"playlists"`
	Segments  int64 `json:"segments"`
	// ByObject: attempts by object; Status: responses by HTTP status; ObjectStatus: both;
	// Bytes: body bytes received by object.
	ByObject     map[string]int64            `json:"by_object"`
	Status       map[string]int64            `json:"by_status"`
	ObjectStatus map[string]map[string]int64 `json:"by_object_status"`
	Bytes        map[string]int64            `json:"bytes_by_object"`
	// Reused: attempts sent on a kept-alive connection.
	Reused int64 `json:"reused_connection"`
}

// Errors counts failed attempts; Rate = failed attempts / attempts, so it is at most 1.
type Errors struct {
	Total      int64                       `json:"total"`
	Class      map[string]int64            `json:"by_class"`
	ObjectCls  map[string]map[string]int64 `json:"by_object_class"`
	HTTP       int64                       `json:"http"`
	HTTPStatus map[string]int64            `json:"http_by_status"`
	Timeouts   int64                       `json:"timeouts"`
	Refused    int64                       `json:"refused"`
	Rate       float64                     `json:"rate"`
}

// Playback is what the clients' virtual players saw (internal/swarm/qoe): stalls (a buffer ran
// empty while playing), time stalled, time watched (first segment → end, stalls included), their
// ratio, and the bitrate the clients played (segment bits / segment durations, per client).
type Playback struct {
	Stream          string  `json:"stream"` // "live", or "vod" when a media playlist had EXT-X-ENDLIST
	Stalls          int64   `json:"stalls"`
	StalledAtEnd    int     `json:"stalled_at_end"`
	RebufferSeconds float64 `json:"rebuffer_seconds"`
	WatchedSeconds  float64 `json:"watched_seconds"`
	RebufferRatio   float64 `json:"rebuffer_ratio"`
	Bitrate         Bitrate `json:"bitrate_bps"`
}

// Bitrate is the distribution of the clients' played bitrates in bit/s.
type Bitrate struct {
	Clients int     `json:"clients"`
	Min     float64 `json:"min"`
	P50     float64 `json:"p50"`
	Max     float64 `json:"max"`
}

// Latency is one latency's distribution in seconds, from its raw samples (nearest rank).
type Latency struct {
	Samples int     `json:"samples"`
	P50     float64 `json:"p50_seconds"`
	P90     float64 `json:"p90_seconds"`
	P95     float64 `json:"p95_seconds"`
	P99     float64 `json:"p99_seconds"`
	Max     float64 `json:"max_seconds"`
}

// New builds the summary of a run from its final snapshot and evaluates the thresholds.
func New(run Run, s metrics.Snapshot, thresholds []Threshold) Summary {
	sum := Summary{
		Format:          SummaryFormat,
		Version:         run.Version,
		URL:             run.URL,
		Started:         run.Started.UTC(),
		Ended:           run.Ended.UTC(),
		DurationSeconds: run.Ended.Sub(run.Started).Seconds(),
		Interrupted:     run.Interrupted,
		Clients:         Clients{Target: s.TargetClients, Peak: s.PeakActiveClients, ActiveAtEnd: s.ActiveClients},
		Starts:          s.Starts,
		Restarts:        s.Restarts,
		Exits:           s.Exits,
		Playback:        playback(s),
		Histograms:      s.Histograms,
		Latency:         map[string]Latency{},
	}
	r := Requests{ByObject: s.Attempts, ObjectStatus: s.Responses, Bytes: s.Bytes, Status: map[string]int64{}, Reused: s.Reused}
	for obj, n := range s.Attempts {
		r.Total += n
		switch obj {
		case event.ObjectMaster, event.ObjectMedia:
			r.Playlists += n
		case event.ObjectSegment:
			r.Segments += n
		}
	}
	for _, byStatus := range s.Responses {
		for st, n := range byStatus {
			r.Status[st] += n
		}
	}
	for _, n := range s.Bytes {
		sum.ReceivedBytes += n
	}
	sum.Requests = r
	e := Errors{Class: map[string]int64{}, ObjectCls: s.Errors, HTTPStatus: map[string]int64{}}
	for _, byClass := range s.Errors {
		for cl, n := range byClass {
			e.Class[cl] += n
			e.Total += n
		}
	}
	for st, n := range r.Status {
		if code, err := strconv.Atoi(st); err == nil && code >= 400 {
			e.HTTPStatus[st] = n
		}
	}
	e.HTTP, e.Timeouts, e.Refused = e.Class[event.ClassHTTP], e.Class[event.ClassTimeout], e.Class[event.ClassRefused]
	e.Rate = errorRate(e.Total, r.Total)
	sum.Errors = e
	sum.Startup = latency(s.Samples[metrics.Startup])
	for _, name := range []string{metrics.SegmentTTFB, metrics.SegmentDownload, metrics.PlaylistLatency} {
		sum.Latency[name] = latency(s.Samples[name])
	}

	sum.Pass = true
	values := sum.Values()
	sum.Thresholds = []Result{}
	for _, t := range thresholds {
		r := t.Evaluate(values)
		sum.Thresholds = append(sum.Thresholds, r)
		sum.Pass = sum.Pass && r.Pass
	}
	return sum
}

func playback(s metrics.Snapshot) Playback {
	p := Playback{Stream: "live", Stalls: s.Stalls, StalledAtEnd: s.StalledClients,
		RebufferSeconds: s.RebufferSeconds, WatchedSeconds: s.WatchedSeconds}
	if s.VOD {
		p.Stream = "vod"
	}
	if s.WatchedSeconds > 0 {
		p.RebufferRatio = s.RebufferSeconds / s.WatchedSeconds
	}
	if n := len(s.Bitrates); n > 0 {
		b := slices.Sorted(slices.Values(s.Bitrates))
		p.Bitrate = Bitrate{Clients: n, Min: b[0], P50: b[(n-1)/2], Max: b[n-1]}
	}
	return p
}

func errorRate(errs, requests int64) float64 {
	switch {
	case errs == 0:
		return 0
	case requests == 0:
		return 1
	}
	return float64(errs) / float64(requests)
}

func latency(samples []time.Duration) Latency {
	if len(samples) == 0 {
		return Latency{}
	}
	sorted := slices.Clone(samples)
	slices.Sort(sorted)
	return Latency{
		Samples: len(sorted),
		P50:     Percentile(sorted, 50).Seconds(),
		P90:     Percentile(sorted, 90).Seconds(),
		P95:     Percentile(sorted, 95).Seconds(),
		P99:     Percentile(sorted, 99).Seconds(),
		Max:     sorted[len(sorted)-1].Seconds(),
	}
}

// Percentile returns the p-th percentile (0 < p ≤ 100) of sorted by the nearest-rank method:
// the smallest sample such that at least p % of the samples are at or below it.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// Values maps each threshold metric name to its value in this summary. Latency metrics are
// absent when there is no sample.
func (s Summary) Values() map[string]float64 {
	var x4, x5 int64
	for code, n := range s.Errors.HTTPStatus {
		switch {
		case strings.HasPrefix(code, "4"):
			x4 += n
		case strings.HasPrefix(code, "5"):
			x5 += n
		}
	}
	v := map[string]float64{
		"clients": float64(s.Clients.Target), "clients_peak": float64(s.Clients.Peak),
		"starts":   float64(s.Starts),
		"restarts": float64(s.Restarts), "requests": float64(s.Requests.Total),
		"playlists": float64(s.Requests.Playlists), "segments": float64(s.Requests.Segments),
		"http_errors": float64(s.Errors.HTTP), "http_4xx": float64(x4), "http_5xx": float64(x5),
		"timeouts": float64(s.Errors.Timeouts), "refused": float64(s.Errors.Refused),
		"errors": float64(s.Errors.Total), "stalls": float64(s.Playback.Stalls), "error_rate": s.Errors.Rate,
		"rebuffer_ratio": s.Playback.RebufferRatio,
		"duration":       s.DurationSeconds, "bytes": float64(s.ReceivedBytes),
	}
	add := func(prefix string, l Latency) {
		if l.Samples > 0 {
			v[prefix+"_p50"], v[prefix+"_p90"], v[prefix+"_p95"] = l.P50, l.P90, l.P95
			v[prefix+"_p99"], v[prefix+"_max"] = l.P99, l.Max
		}
	}
	add("startup", s.Startup)
	add("segment", s.Latency[metrics.SegmentDownload])
	add("ttfb", s.Latency[metrics.SegmentTTFB])
	add("playlist", s.Latency[metrics.PlaylistLatency])
	return v
}

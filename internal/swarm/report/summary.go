// Package report turns a run's metrics snapshot into the end-of-run verdict: a summary table,
// the same summary as JSON, and k6-style thresholds that decide the exit code.
package report

import (
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
	// Shard is set when this run is one shard of a larger one (--shard I/N).
	Shard *Shard
}

// SummaryFormat is the version of the summary JSON's layout; a reader that merges summaries
// (counters summed, histograms bucket by bucket) checks it. 2: numbers from the metering proxy.
// 3: percentiles from the histograms (Quantile), per-client bitrates, shard and merged_from.
const SummaryFormat = 3

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
	// Shard: this run was shard I of N (--shard); MergedFrom: this summary merges that many.
	Shard      *Shard `json:"shard,omitempty"`
	MergedFrom int    `json:"merged_from,omitempty"`

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
	// PerClient is every client's played bitrate, sorted, so merged shards give an exact median.
	PerClient []float64 `json:"per_client,omitempty"`
}

// Latency is one latency's distribution in seconds: Samples observations; percentiles
// estimated from the histogram (see Quantile), so within one bucket of the exact value; Max
// exact.
type Latency struct {
	Samples int     `json:"samples"`
	P50     float64 `json:"p50_seconds"`
	P90     float64 `json:"p90_seconds"`
	P95     float64 `json:"p95_seconds"`
	P99     float64 `json:"p99_seconds"`
	Max     float64 `json:"max_seconds"`
}

// Shard names one shard of a run split over several machines (--shard I/N): Index 0..Count-1.
type Shard struct {
	Index int `json:"index"`
	Count int `json:"count"`
}

func (s Shard) String() string { return strconv.Itoa(s.Index) + "/" + strconv.Itoa(s.Count) }

// New builds the summary of a run from its final snapshot and evaluates the thresholds.
func New(run Run, s metrics.Snapshot, thresholds []Threshold) Summary {
	sum := Summary{
		Format:      SummaryFormat,
		Version:     run.Version,
		URL:         run.URL,
		Shard:       run.Shard,
		Started:     run.Started.UTC(),
		Ended:       run.Ended.UTC(),
		Interrupted: run.Interrupted,
		Clients:     Clients{Target: s.TargetClients, Peak: s.PeakActiveClients, ActiveAtEnd: s.ActiveClients},
		Starts:      s.Starts,
		Restarts:    s.Restarts,
		Exits:       s.Exits,
		Playback:    playback(s),
		Histograms:  s.Histograms,
		Requests:    Requests{ByObject: s.Attempts, ObjectStatus: s.Responses, Bytes: s.Bytes, Reused: s.Reused},
		Errors:      Errors{ObjectCls: s.Errors},
	}
	maxima := map[string]float64{}
	for name, m := range s.Maxima {
		maxima[name] = m.Seconds()
	}
	sum.derive(maxima, thresholds)
	return sum
}

// derive computes everything in a summary that follows from its counters and histograms:
// totals, error rate, rebuffer ratio, bitrate distribution, latency percentiles and the
// thresholds. A run (New) and a merge of shards (Merge) both end here, so they compute their
// numbers the same way. maxima are the largest observation of each latency, in seconds.
func (sum *Summary) derive(maxima map[string]float64, thresholds []Threshold) {
	sum.DurationSeconds = sum.Ended.Sub(sum.Started).Seconds()
	r := &sum.Requests
	r.Total, r.Playlists, r.Segments, r.Status = 0, 0, 0, map[string]int64{}
	for obj, n := range r.ByObject {
		r.Total += n
		switch obj {
		case event.ObjectMaster, event.ObjectMedia:
			r.Playlists += n
		case event.ObjectSegment:
			r.Segments += n
		}
	}
	for _, byStatus := range r.ObjectStatus {
		for st, n := range byStatus {
			r.Status[st] += n
		}
	}
	sum.ReceivedBytes = 0
	for _, n := range r.Bytes {
		sum.ReceivedBytes += n
	}
	e := Errors{Class: map[string]int64{}, ObjectCls: sum.Errors.ObjectCls, HTTPStatus: map[string]int64{}}
	for _, byClass := range e.ObjectCls {
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

	pb := &sum.Playback
	pb.RebufferRatio = 0
	if pb.WatchedSeconds > 0 {
		pb.RebufferRatio = pb.RebufferSeconds / pb.WatchedSeconds
	}
	pb.Bitrate = bitrates(pb.Bitrate.PerClient)

	sum.Startup = latency(sum.Histograms[metrics.Startup], maxima[metrics.Startup])
	sum.Latency = map[string]Latency{}
	for _, name := range []string{metrics.SegmentTTFB, metrics.SegmentDownload, metrics.PlaylistLatency} {
		sum.Latency[name] = latency(sum.Histograms[name], maxima[name])
	}

	sum.Pass = true
	values := sum.Values()
	sum.Thresholds = []Result{}
	for _, t := range thresholds {
		r := t.Evaluate(values)
		sum.Thresholds = append(sum.Thresholds, r)
		sum.Pass = sum.Pass && r.Pass
	}
}

func playback(s metrics.Snapshot) Playback {
	p := Playback{Stream: "live", Stalls: s.Stalls, StalledAtEnd: s.StalledClients,
		RebufferSeconds: s.RebufferSeconds, WatchedSeconds: s.WatchedSeconds,
		Bitrate: Bitrate{PerClient: slices.Clone(s.Bitrates)}}
	if s.VOD {
		p.Stream = "vod"
	}
	return p
}

// bitrates is the distribution of the clients' played bitrates (nearest rank for the median).
func bitrates(perClient []float64) Bitrate {
	n := len(perClient)
	if n == 0 {
		return Bitrate{}
	}
	b := slices.Sorted(slices.Values(perClient))
	return Bitrate{Clients: n, Min: b[0], P50: b[(n-1)/2], Max: b[n-1], PerClient: b}
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

// Quantiles are the percentiles a Latency reports.
var quantiles = []float64{0.50, 0.90, 0.95, 0.99}

// latency is one latency's distribution from its histogram (see Quantile) and its largest
// observation.
func latency(h metrics.Histogram, maxSeconds float64) Latency {
	if h.Count == 0 {
		return Latency{}
	}
	var p [4]float64
	for i, q := range quantiles {
		p[i] = Quantile(q, h, maxSeconds)
	}
	return Latency{Samples: int(h.Count), P50: p[0], P90: p[1], P95: p[2], P99: p[3], Max: maxSeconds}
}

// Quantile estimates the q-quantile (0 < q ≤ 1) of a histogram the way Prometheus's
// histogram_quantile does: find the bucket that holds rank q×count and interpolate linearly
// within it, between the bucket's lower bound (the previous upper bound, 0 for the first) and
// its upper bound. So the estimate is always within the bucket that holds the true value. Two
// differences from histogram_quantile: the estimate is capped at the largest observation
// (maxSeconds, when known: > 0), and a rank in the +Inf bucket gives that largest observation
// instead of the highest finite bound. A run and a merge of runs both compute their
// percentiles here, from the same buckets, so merging one summary gives back its numbers.
func Quantile(q float64, h metrics.Histogram, maxSeconds float64) float64 {
	if h.Count == 0 {
		return 0
	}
	rank := q * float64(h.Count)
	lower, below := 0.0, uint64(0)
	for i, upper := range h.UpperBounds {
		c := h.Cumulative[i]
		if c > below && float64(c) >= rank {
			v := lower + (upper-lower)*(rank-float64(below))/float64(c-below)
			if maxSeconds > 0 {
				v = min(v, maxSeconds)
			}
			return v
		}
		lower, below = upper, c
	}
	if maxSeconds > 0 {
		return maxSeconds
	}
	return lower
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

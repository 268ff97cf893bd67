// Package timeseries samples a running swarm every interval: one Record per interval, computed
// from the difference of two metrics.Snapshot (the same registry /metrics serves and the summary
// is built from), written as NDJSON or CSV (--timeseries) and as a compact status line on stderr.
// A live view reads the same Records.
package timeseries

import (
	"maps"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/metrics"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/report"
)

// Record is one interval of a run: what happened between the previous record and Time, plus
// the running totals at Time. Interval counts of consecutive records add up to the totals.
type Record struct {
	Time            time.Time `json:"time"`
	ElapsedSeconds  float64   `json:"elapsed_seconds"`
	IntervalSeconds float64   `json:"interval_seconds"`
	// DurationSeconds is the run's --duration (0: until interrupted); RemainingSeconds is
	// what is left of it (nil when the run has no duration).
	DurationSeconds  float64  `json:"duration_seconds"`
	RemainingSeconds *float64 `json:"remaining_seconds"`
	// Final marks the last record, written when the run ended (its interval may be short).
	Final bool `json:"final"`

	Clients Clients `json:"clients"`

	// In this interval: attempts (requests that got a response, or failed connections), body
	// bytes received, failed attempts by class and HTTP error responses (status ≥ 400) by status.
	Attempts           int64            `json:"attempts"`
	AttemptsPerSecond  float64          `json:"attempts_per_second"`
	Bytes              int64            `json:"bytes"`
	BytesPerSecond     float64          `json:"bytes_per_second"`
	Errors             int64            `json:"errors"`
	ErrorsByClass      map[string]int64 `json:"errors_by_class"`
	HTTPErrorsByStatus map[string]int64 `json:"http_errors_by_status"`
	// Segment TTFB and download time of the segments received whole in this interval.
	SegmentTTFB     Percentiles `json:"segment_ttfb"`
	SegmentDownload Percentiles `json:"segment_download"`
	// RebufferRatio: time stalled / time watched in this interval, over every client.
	RebufferRatio float64 `json:"rebuffer_ratio"`

	Totals Totals `json:"totals"`
}

// Clients is the client count at the record's time.
type Clients struct {
	Target  int `json:"target"`
	Active  int `json:"active"`
	Stalled int `json:"stalled"`
}

// Percentiles of one latency in one interval, in seconds, estimated from the interval's
// histogram buckets by report.Quantile (the summary's estimator): within the bucket that holds
// the true value. Zero when Samples is 0.
type Percentiles struct {
	Samples uint64  `json:"samples"`
	P50     float64 `json:"p50_seconds"`
	P95     float64 `json:"p95_seconds"`
	P99     float64 `json:"p99_seconds"`
}

// Totals are the run's running totals at the record's time; the final record's equal the
// summary's.
type Totals struct {
	Attempts        int64   `json:"attempts"`
	Bytes           int64   `json:"bytes"`
	Errors          int64   `json:"errors"`
	Starts          int64   `json:"starts"`
	Restarts        int64   `json:"restarts"`
	Stalls          int64   `json:"stalls"`
	RebufferSeconds float64 `json:"rebuffer_seconds"`
	WatchedSeconds  float64 `json:"watched_seconds"`
	RebufferRatio   float64 `json:"rebuffer_ratio"`
}

// Sampler turns successive snapshots of one run into records.
type Sampler struct {
	start    time.Time
	duration time.Duration
	prev     metrics.Snapshot
	prevAt   time.Time
}

// NewSampler samples a run that started at start and lasts duration (0: until interrupted).
func NewSampler(start time.Time, duration time.Duration) *Sampler {
	return &Sampler{start: start, duration: duration, prevAt: start}
}

// Next is the record of the interval from the previous call (or the start) to at, whose
// totals are snap. Snapshots must be passed in the order they were taken.
func (s *Sampler) Next(snap metrics.Snapshot, at time.Time) Record {
	iv := at.Sub(s.prevAt).Seconds()
	r := Record{
		Time:            at.UTC(),
		ElapsedSeconds:  at.Sub(s.start).Seconds(),
		IntervalSeconds: iv,
		Clients:         Clients{Target: snap.TargetClients, Active: snap.ActiveClients, Stalled: snap.StalledClients},
		Totals: Totals{Attempts: sum(snap.Attempts), Bytes: sum(snap.Bytes), Errors: sum2(snap.Errors),
			Starts: snap.Starts, Restarts: snap.Restarts, Stalls: snap.Stalls,
			RebufferSeconds: snap.RebufferSeconds, WatchedSeconds: snap.WatchedSeconds,
			RebufferRatio: ratio(snap.RebufferSeconds, snap.WatchedSeconds)},
	}
	if s.duration > 0 {
		rem := max(0, (s.duration - at.Sub(s.start)).Seconds())
		r.RemainingSeconds, r.DurationSeconds = &rem, s.duration.Seconds()
	}
	r.Attempts = r.Totals.Attempts - sum(s.prev.Attempts)
	r.Bytes = r.Totals.Bytes - sum(s.prev.Bytes)
	r.Errors = r.Totals.Errors - sum2(s.prev.Errors)
	r.ErrorsByClass = diff(byInner(snap.Errors, nil), byInner(s.prev.Errors, nil))
	r.HTTPErrorsByStatus = diff(byInner(snap.Responses, httpError), byInner(s.prev.Responses, httpError))
	if iv > 0 {
		r.AttemptsPerSecond = float64(r.Attempts) / iv
		r.BytesPerSecond = float64(r.Bytes) / iv
	}
	r.SegmentTTFB = percentiles(snap.Histograms[metrics.SegmentTTFB], s.prev.Histograms[metrics.SegmentTTFB])
	r.SegmentDownload = percentiles(snap.Histograms[metrics.SegmentDownload], s.prev.Histograms[metrics.SegmentDownload])
	r.RebufferRatio = ratio(snap.RebufferSeconds-s.prev.RebufferSeconds, snap.WatchedSeconds-s.prev.WatchedSeconds)
	s.prev, s.prevAt = snap, at
	return r
}

// percentiles are the quantiles of the observations between two cumulative histograms.
func percentiles(now, before metrics.Histogram) Percentiles {
	d := metrics.Histogram{UpperBounds: now.UpperBounds, Count: now.Count - before.Count, Sum: now.Sum - before.Sum}
	if d.Count == 0 {
		return Percentiles{}
	}
	d.Cumulative = make([]uint64, len(now.Cumulative))
	for i, c := range now.Cumulative {
		d.Cumulative[i] = c
		if i < len(before.Cumulative) {
			d.Cumulative[i] -= before.Cumulative[i]
		}
	}
	// No cap: the interval's largest observation is not kept, so a rank in the +Inf bucket
	// gives the highest finite bound.
	return Percentiles{Samples: d.Count, P50: report.Quantile(0.50, d, 0), P95: report.Quantile(0.95, d, 0),
		P99: report.Quantile(0.99, d, 0)}
}

func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

func sum2(m map[string]map[string]int64) int64 {
	var n int64
	for _, inner := range m {
		n += sum(inner)
	}
	return n
}

func httpError(status string) bool { return len(status) == 3 && status >= "400" && status <= "599" }

// byInner sums an outer → inner → count map over the outer key, keeping inner keys that keep.
func byInner(m map[string]map[string]int64, keep func(string) bool) map[string]int64 {
	out := map[string]int64{}
	for _, inner := range m {
		for k, v := range inner {
			if keep == nil || keep(k) {
				out[k] += v
			}
		}
	}
	return out
}

// diff is now − before, without zero entries.
func diff(now, before map[string]int64) map[string]int64 {
	out := maps.Clone(now)
	for k, v := range before {
		out[k] -= v
	}
	maps.DeleteFunc(out, func(_ string, v int64) bool { return v == 0 })
	return out
}

// Package report turns a run's metrics snapshot into the end-of-run verdict: a summary table,
// the same summary as JSON, and k6-style thresholds that decide the exit code.
package report

import (
	"math"
	"slices"
	"strings"
	"time"

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

// Summary is the end-of-run verdict. Its numbers come from one metrics.Snapshot, so they agree
// with what /metrics served at the end of the run.
type Summary struct {
	Version         string    `json:"version"`
	URL             string    `json:"url"`
	Started         time.Time `json:"started"`
	Ended           time.Time `json:"ended"`
	DurationSeconds float64   `json:"duration_seconds"`
	Interrupted     bool      `json:"interrupted"`

	Clients  Clients  `json:"clients"`
	Requests Requests `json:"requests"`
	Errors   Errors   `json:"errors"`
	Startup  Startup  `json:"startup"`

	ReceivedBytes int64            `json:"received_bytes"`
	Starts        int64            `json:"starts"`
	Restarts      int64            `json:"restarts"`
	Exits         map[string]int64 `json:"exits"`
	Stalls        int64            `json:"stalls"`
	StalledAtEnd  int              `json:"stalled_at_end"`

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

// Requests counts requests.
type Requests struct {
	Total     int64 `json:"total"`
	Playlists int64 `json:"playlists"`
	Segments  int64 `json:"segments"`
}

// Errors counts what went wrong; Rate is (HTTP errors + timeouts) / requests.
type Errors struct {
	Total      int64            `json:"total"`
	HTTP       int64            `json:"http"`
	HTTPStatus map[string]int64 `json:"http_by_status"`
	Timeouts   int64            `json:"timeouts"`
	Reconnects int64            `json:"reconnects"`
	Rate       float64          `json:"rate"`
}

// Startup is the time from a client process start to its first segment, in seconds, over every
// process that got one (restarts included). Percentiles use the nearest-rank method.
type Startup struct {
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
		Version:         run.Version,
		URL:             run.URL,
		Started:         run.Started.UTC(),
		Ended:           run.Ended.UTC(),
		DurationSeconds: run.Ended.Sub(run.Started).Seconds(),
		Interrupted:     run.Interrupted,
		Clients:         Clients{Target: s.TargetClients, Peak: s.PeakActiveClients, ActiveAtEnd: s.ActiveClients},
		Requests: Requests{Total: s.PlaylistRequests + s.SegmentRequests,
			Playlists: s.PlaylistRequests, Segments: s.SegmentRequests},
		ReceivedBytes: s.ReceivedBytes,
		Starts:        s.Starts,
		Restarts:      s.Restarts,
		Exits:         s.Exits,
		Stalls:        s.Stalls,
		StalledAtEnd:  s.StalledClients,
	}
	var httpErrs int64
	for _, n := range s.HTTPErrors {
		httpErrs += n
	}
	sum.Errors = Errors{HTTP: httpErrs, HTTPStatus: s.HTTPErrors, Timeouts: s.Timeouts,
		Reconnects: s.Reconnects, Total: httpErrs + s.Timeouts}
	sum.Errors.Rate = errorRate(sum.Errors.Total, sum.Requests.Total)
	sum.Startup = startup(s.StartupSamples)

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

func errorRate(errs, requests int64) float64 {
	switch {
	case errs == 0:
		return 0
	case requests == 0:
		return 1
	}
	return float64(errs) / float64(requests)
}

func startup(samples []time.Duration) Startup {
	if len(samples) == 0 {
		return Startup{}
	}
	sorted := slices.Clone(samples)
	slices.Sort(sorted)
	return Startup{
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

// Values maps each threshold metric name to its value in this summary. Start-up metrics are
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
		"timeouts": float64(s.Errors.Timeouts), "reconnects": float64(s.Errors.Reconnects),
		"errors": float64(s.Errors.Total), "stalls": float64(s.Stalls), "error_rate": s.Errors.Rate,
		"duration": s.DurationSeconds, "bytes": float64(s.ReceivedBytes),
	}
	if s.Startup.Samples > 0 {
		v["startup_p50"], v["startup_p90"], v["startup_p95"] = s.Startup.P50, s.Startup.P90, s.Startup.P95
		v["startup_p99"], v["startup_max"] = s.Startup.P99, s.Startup.Max
	}
	return v
}

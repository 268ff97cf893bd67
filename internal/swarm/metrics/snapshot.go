package metrics

import (
	"fmt"
	"maps"
	"slices"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// Snapshot is the swarm's totals at one instant, read from the same registry that /metrics
// serves, so a report built from it agrees with a scrape taken at the same time.
type Snapshot struct {
	TargetClients     int
	ActiveClients     int
	PeakActiveClients int
	StalledClients    int
	Starts            int64
	Restarts          int64
	RestartsScheduled int64
	Exits             map[string]int64 // by reason
	// Attempts, Bytes: by object. Responses: object → status → count. Errors: object → class → count.
	Attempts  map[string]int64
	Bytes     map[string]int64
	Responses map[string]map[string]int64
	Errors    map[string]map[string]int64
	Reused    int64
	// Playback (internal/swarm/qoe): stalls, time stalled and time watched (seconds) summed
	// over clients, clients stalled now, whether the stream is VOD, and each client's played
	// bitrate in bit/s (clients that received a segment of known duration).
	Stalls          int64
	RebufferSeconds float64
	WatchedSeconds  float64
	VOD             bool
	Bitrates        []float64
	// Maxima are the largest observation of each latency with at least one (by name: Startup,
	// SegmentTTFB, SegmentDownload, PlaylistLatency); the histograms have the distribution.
	Maxima map[string]time.Duration
	// Histograms are the same histograms as /metrics serves them, bucket by bucket, so runs on
	// several machines can be merged.
	Histograms map[string]Histogram
	// FirstEvent and LastEvent bracket the events seen (zero if none).
	FirstEvent, LastEvent time.Time
}

// Histogram is one Prometheus histogram: upper bounds in seconds and the cumulative count at
// each (the +Inf bucket is Count).
type Histogram struct {
	UpperBounds []float64 `json:"upper_bounds_seconds"`
	Cumulative  []uint64  `json:"cumulative_counts"`
	Count       uint64    `json:"count"`
	Sum         float64   `json:"sum_seconds"`
}

// Snapshot reads the current totals.
func (c *Collector) Snapshot() (Snapshot, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fams, err := c.reg.Gather()
	if err != nil {
		return Snapshot{}, fmt.Errorf("gather metrics: %w", err)
	}
	byName := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		byName[f.GetName()] = f
	}
	one := func(name string) float64 {
		f := byName[Namespace+"_"+name]
		if f == nil || len(f.GetMetric()) == 0 {
			return 0
		}
		m := f.GetMetric()[0]
		if m.GetCounter() != nil {
			return m.GetCounter().GetValue()
		}
		return m.GetGauge().GetValue()
	}
	label := func(m *dto.Metric, name string) string {
		for _, l := range m.GetLabel() {
			if l.GetName() == name {
				return l.GetValue()
			}
		}
		return ""
	}
	byLabel := func(name, l string) map[string]int64 {
		out := map[string]int64{}
		if f := byName[Namespace+"_"+name]; f != nil {
			for _, m := range f.GetMetric() {
				if v := int64(m.GetCounter().GetValue()); v > 0 {
					out[label(m, l)] += v
				}
			}
		}
		return out
	}
	byTwo := func(name, l1, l2 string) map[string]map[string]int64 {
		out := map[string]map[string]int64{}
		if f := byName[Namespace+"_"+name]; f != nil {
			for _, m := range f.GetMetric() {
				if v := int64(m.GetCounter().GetValue()); v > 0 {
					k := label(m, l1)
					if out[k] == nil {
						out[k] = map[string]int64{}
					}
					out[k][label(m, l2)] += v
				}
			}
		}
		return out
	}
	hists := map[string]Histogram{}
	for name := range c.latency {
		f := byName[Namespace+"_"+name]
		if f == nil || len(f.GetMetric()) == 0 {
			continue
		}
		h := f.GetMetric()[0].GetHistogram()
		var hist Histogram
		for _, b := range h.GetBucket() {
			hist.UpperBounds = append(hist.UpperBounds, b.GetUpperBound())
			hist.Cumulative = append(hist.Cumulative, b.GetCumulativeCount())
		}
		hist.Count, hist.Sum = h.GetSampleCount(), h.GetSampleSum()
		hists[name] = hist
	}
	perClient, vod := c.QoE()
	var bitrates []float64
	for _, i := range slices.Sorted(maps.Keys(perClient)) {
		if b := perClient[i].Bitrate(); b > 0 {
			bitrates = append(bitrates, b)
		}
	}
	return Snapshot{
		TargetClients:     int(one("target_clients")),
		ActiveClients:     int(one("active_clients")),
		PeakActiveClients: int(one("peak_active_clients")),
		StalledClients:    int(one("stalled_clients")),
		Starts:            int64(one("client_starts_total")),
		Restarts:          int64(one("client_restarts_total")),
		RestartsScheduled: int64(one("client_restarts_scheduled_total")),
		Exits:             byLabel("client_exits_total", "reason"),
		Attempts:          byLabel("attempts_total", "object"),
		Bytes:             byLabel("received_bytes_total", "object"),
		Responses:         byTwo("responses_total", "object", "status"),
		Errors:            byTwo("errors_total", "object", "class"),
		Reused:            int64(one("reused_connection_requests_total")),
		Stalls:            int64(one("stalls_total")),
		RebufferSeconds:   one("rebuffer_seconds_total"),
		WatchedSeconds:    one("watched_seconds_total"),
		VOD:               vod,
		Bitrates:          bitrates,
		Maxima:            maps.Clone(c.maxima),
		Histograms:        maps.Clone(hists),
		FirstEvent:        c.first,
		LastEvent:         c.last,
	}, nil
}

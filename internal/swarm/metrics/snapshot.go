package metrics

import (
	"fmt"
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
	PlaylistRequests  int64
	SegmentRequests   int64
	ReceivedBytes     int64
	HTTPErrors        map[string]int64 // by status code
	Timeouts          int64
	Reconnects        int64
	Stalls            int64
	// StartupSamples are the raw times to first segment (one per client process that got one),
	// the observations behind hls_swarm_time_to_first_segment_seconds.
	StartupSamples []time.Duration
	// FirstEvent and LastEvent bracket the events seen (zero if none).
	FirstEvent, LastEvent time.Time
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
	labelled := func(name string) map[string]int64 {
		out := map[string]int64{}
		f := byName[Namespace+"_"+name]
		if f == nil {
			return out
		}
		for _, m := range f.GetMetric() {
			if v := int64(m.GetCounter().GetValue()); v > 0 && len(m.GetLabel()) == 1 {
				out[m.GetLabel()[0].GetValue()] = v
			}
		}
		return out
	}
	return Snapshot{
		TargetClients:     int(one("target_clients")),
		ActiveClients:     int(one("active_clients")),
		PeakActiveClients: int(one("peak_active_clients")),
		StalledClients:    int(one("stalled_clients")),
		Starts:            int64(one("client_starts_total")),
		Restarts:          int64(one("client_restarts_total")),
		RestartsScheduled: int64(one("client_restarts_scheduled_total")),
		Exits:             labelled("client_exits_total"),
		PlaylistRequests:  int64(one("playlist_requests_total")),
		SegmentRequests:   int64(one("segment_requests_total")),
		ReceivedBytes:     int64(one("received_bytes_total")),
		HTTPErrors:        labelled("http_errors_total"),
		Timeouts:          int64(one("timeouts_total")),
		Reconnects:        int64(one("reconnects_total")),
		Stalls:            int64(one("stalls_total")),
		StartupSamples:    slices.Clone(c.startup),
		FirstEvent:        c.first,
		LastEvent:         c.last,
	}, nil
}

package config

import (
	"strings"
	"testing"
	"time"
)

func TestSplitShard(t *testing.T) {
	tests := []struct {
		clients, count int
		rate           float64
		want           []int
	}{
		{10, 3, 5, []int{4, 3, 3}},
		{9, 3, 3, []int{3, 3, 3}},
		{7, 4, 2, []int{2, 2, 2, 1}},
		{5, 1, 5, []int{5}},
		{3, 3, 0, []int{1, 1, 1}},
	}
	for _, tt := range tests {
		sum, rate := 0, 0.0
		for i := range tt.count {
			n, r := SplitShard(tt.clients, tt.rate, i, tt.count)
			if n != tt.want[i] {
				t.Errorf("%d clients over %d: shard %d gets %d, want %d", tt.clients, tt.count, i, n, tt.want[i])
			}
			if tt.rate > 0 && r <= 0 {
				t.Errorf("%d clients at %g/s over %d: shard %d ramps at %g", tt.clients, tt.rate, tt.count, i, r)
			}
			if tt.rate == 0 && r != 0 {
				t.Errorf("rate 0 (all at once) became %g", r)
			}
			// every shard ends its ramp when one machine would have
			if r > 0 && abs(float64(n)/r-float64(tt.clients)/tt.rate) > 1e-9 {
				t.Errorf("shard %d of %d: ramp of %d at %g/s takes %gs, one machine %gs", i, tt.count, n, r, float64(n)/r, float64(tt.clients)/tt.rate)
			}
			sum, rate = sum+n, rate+r
		}
		if sum != tt.clients || abs(rate-tt.rate) > 1e-9 {
			t.Errorf("%d clients at %g/s over %d shards: the shards add up to %d at %g/s", tt.clients, tt.rate, tt.count, sum, rate)
		}
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestShardPrecedence(t *testing.T) {
	tests := []struct {
		name         string
		args         []string
		env          map[string]string
		index, count int
		clients      int
		rate         float64
		source       string
	}{
		{"flag", []string{"--clients", "10", "--ramp-rate", "6", "--shard", "0/3", testURL}, nil, 0, 3, 4, 2.4, "flag"},
		{"flag over env", []string{"--clients", "10", "--shard", "2/3", testURL}, map[string]string{"SWARM_SHARD": "1/3", "JOB_COMPLETION_INDEX": "0", "SHARD_COUNT": "3"}, 2, 3, 3, 0, "flag"},
		{"SWARM_SHARD over the Job's", []string{"--clients", "10", testURL}, map[string]string{"SWARM_SHARD": "1/3", "JOB_COMPLETION_INDEX": "0", "SHARD_COUNT": "3"}, 1, 3, 3, 0, "env SWARM_SHARD"},
		{"Indexed Job", []string{testURL}, map[string]string{"JOB_COMPLETION_INDEX": "1", "SHARD_COUNT": "4", "CLIENTS": "10", "RAMP_RATE": "2"}, 1, 4, 3, 0.6, "env JOB_COMPLETION_INDEX, SHARD_COUNT"},
		{"profile's clients split", []string{"--profile", "gentle", "--shard", "0/3", testURL}, nil, 0, 3, 7, 0.35, "flag"},
		{"not sharded", []string{"--clients", "10", testURL}, nil, 0, 0, 10, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := resolve(t, tt.args, tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if s.ShardIndex != tt.index || s.ShardCount != tt.count || s.Clients != tt.clients {
				t.Errorf("shard %d/%d with %d clients, want %d/%d with %d", s.ShardIndex, s.ShardCount, s.Clients, tt.index, tt.count, tt.clients)
			}
			if tt.rate != 0 && abs(s.RampRate-tt.rate) > 1e-9 {
				t.Errorf("ramp rate %g, want %g", s.RampRate, tt.rate)
			}
			if tt.source != "" && s.Sources["shard"] != tt.source {
				t.Errorf("shard from %q, want %q", s.Sources["shard"], tt.source)
			}
			if tt.count > 0 && !strings.Contains(s.Sources["clients"], "shard") {
				t.Errorf("clients source %q does not say it is a shard's share", s.Sources["clients"])
			}
		})
	}
}

func TestShardAndStartAtErrors(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"not I/N", []string{"--shard", "3", testURL}, nil, `--shard "3": want I/N`},
		{"index too big", []string{"--shard", "3/3", testURL}, nil, "I must be 0..2"},
		{"zero shards", []string{"--shard", "0/0", testURL}, nil, "N must be at least 1"},
		{"fewer clients than shards", []string{"--clients", "2", "--shard", "0/3", testURL}, nil, "--clients 2 over 3 shards leaves shard 2/3 without a client"},
		{"index without count", []string{testURL}, map[string]string{"JOB_COMPLETION_INDEX": "1"}, "SHARD_COUNT is not"},
		{"count without index", []string{testURL}, map[string]string{"SHARD_COUNT": "3"}, "JOB_COMPLETION_INDEX is not"},
		{"bad Job index", []string{testURL}, map[string]string{"JOB_COMPLETION_INDEX": "5", "SHARD_COUNT": "3"}, "(from env JOB_COMPLETION_INDEX, SHARD_COUNT)"},
		{"with --check", []string{"--check", "--shard", "0/2", testURL}, nil, "--check runs 1 client, so --shard 0/2"},
		{"start-at not RFC 3339", []string{"--start-at", "tomorrow", testURL}, nil, `--start-at "tomorrow": want an RFC 3339 time`},
		{"start-at in the past", []string{"--start-at", now.Add(-time.Hour).Format(time.RFC3339), testURL}, nil, "in the past"},
		{"start-at too far", []string{"--start-at", now.Add(25 * time.Hour).Format(time.RFC3339), testURL}, nil, "more than 24h0m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := resolve(t, tt.args, tt.env)
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %v, want one line with %q", err, tt.want)
			}
		})
	}
	at := now.Add(time.Hour).UTC().Truncate(time.Second)
	s, err := resolve(t, []string{"--start-at", at.Format(time.RFC3339), testURL}, nil)
	if err != nil || !s.StartTime.Equal(at) {
		t.Errorf("--start-at an hour ahead: %v, start %s, want %s", err, s.StartTime, at)
	}
	// a few seconds late (clocks differ, a pod starts late) is accepted: the ramp starts at once
	if _, err := resolve(t, []string{"--start-at", now.Add(-3 * time.Second).Format(time.RFC3339Nano), testURL}, nil); err != nil {
		t.Errorf("--start-at 3s ago: %v", err)
	}
}

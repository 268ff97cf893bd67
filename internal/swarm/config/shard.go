package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Environment variables that give --shard its default, as a Kubernetes Indexed Job sets them:
// the Job controller sets JOB_COMPLETION_INDEX (0..completions-1) in every pod; ShardCountEnv is
// set by the Job's template to its completions.
const (
	JobIndexEnv   = "JOB_COMPLETION_INDEX"
	ShardCountEnv = "SHARD_COUNT"
)

// StartAtSlack is how far in the past --start-at may be (clocks of the shards' machines differ
// a little, and a pod may start late); StartAtHorizon how far in the future.
const (
	StartAtSlack   = 10 * time.Second
	StartAtHorizon = 24 * time.Hour
)

// ParseShard parses "I/N": shard I (0-based, as JOB_COMPLETION_INDEX) of N.
func ParseShard(v string) (index, count int, err error) {
	i, n, ok := strings.Cut(v, "/")
	index, err1 := strconv.Atoi(strings.TrimSpace(i))
	count, err2 := strconv.Atoi(strings.TrimSpace(n))
	switch {
	case !ok || err1 != nil || err2 != nil:
		return 0, 0, fmt.Errorf("--shard %q: want I/N such as 0/3 (shard I of N, I from 0 to N-1)", v)
	case count < 1:
		return 0, 0, fmt.Errorf("--shard %q: N must be at least 1", v)
	case index < 0 || index >= count:
		return 0, 0, fmt.Errorf("--shard %q: I must be 0..%d (shards are numbered from 0, as JOB_COMPLETION_INDEX)", v, count-1)
	}
	return index, count, nil
}

// SplitShard gives shard index of count its share of a run of clients started at rampRate per
// second, so that the shards together run what one machine would have been asked for: clients
// are dealt out as evenly as possible, the first total%count shards one more (10 over 3: 4, 3,
// 3), and each shard ramps at rampRate × its share, so every shard ends its ramp when one
// machine would have (a rate of 0, "all at once", stays 0).
func SplitShard(clients int, rampRate float64, index, count int) (int, float64) {
	share := clients / count
	if index < clients%count {
		share++
	}
	if clients == 0 {
		return 0, rampRate
	}
	return share, rampRate * float64(share) / float64(clients)
}

// resolveShard sets the shard from --shard / SWARM_SHARD or, failing those, from
// JOB_COMPLETION_INDEX and SHARD_COUNT, and then gives this shard its share of the clients and
// the ramp rate. It runs after the profile, so the clients and ramp rate it splits are the
// whole run's.
func resolveShard(s *Settings, env Env) error {
	if s.Sources["shard"] == "default" || s.Sources["shard"] == "" {
		idx, hasIdx := env(JobIndexEnv)
		cnt, hasCnt := env(ShardCountEnv)
		hasIdx, hasCnt = hasIdx && idx != "", hasCnt && cnt != ""
		switch {
		case hasIdx && !hasCnt:
			return fmt.Errorf("%s=%s is set but %s is not: set %s to the Job's completions, or pass --shard I/N", JobIndexEnv, idx, ShardCountEnv, ShardCountEnv)
		case hasCnt && !hasIdx:
			return fmt.Errorf("%s=%s is set but %s is not: run as an Indexed Job, or pass --shard I/N", ShardCountEnv, cnt, JobIndexEnv)
		case hasIdx:
			s.Shard = idx + "/" + cnt
			s.Sources["shard"] = "env " + JobIndexEnv + ", " + ShardCountEnv
		}
	}
	if s.Shard == "" {
		return nil
	}
	index, count, err := ParseShard(s.Shard)
	if err != nil {
		if src := s.Sources["shard"]; src != "flag" {
			err = fmt.Errorf("%w (from %s)", err, src)
		}
		return err
	}
	if s.Check {
		return fmt.Errorf("--check runs 1 client, so --shard %s (set by %s) would be ignored: drop one of the two", s.Shard, s.Sources["shard"])
	}
	if s.Clients < count {
		return fmt.Errorf("--clients %d over %d shards leaves shard %d/%d without a client: ask for at least %d clients or fewer shards", s.Clients, count, count-1, count, count)
	}
	total, rate := s.Clients, s.RampRate
	s.ShardIndex, s.ShardCount = index, count
	s.Clients, s.RampRate = SplitShard(total, rate, index, count)
	s.Sources["clients"] = fmt.Sprintf("%s, shard %d/%d of %d", s.Sources["clients"], index, count, total)
	s.Sources["ramp-rate"] = fmt.Sprintf("%s, shard %d/%d of %g", s.Sources["ramp-rate"], index, count, rate)
	return nil
}

// resolveStartAt parses --start-at (RFC 3339) and refuses a time more than StartAtSlack in the
// past or more than StartAtHorizon ahead of now.
func resolveStartAt(s *Settings, now time.Time) error {
	if s.StartAt == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339, s.StartAt)
	if err != nil {
		return fmt.Errorf("--start-at %q: want an RFC 3339 time such as %s", s.StartAt, now.Add(time.Minute).UTC().Truncate(time.Second).Format(time.RFC3339))
	}
	switch d := t.Sub(now); {
	case d < -StartAtSlack:
		return fmt.Errorf("--start-at %s is %s in the past: give a time in the future (every shard the same)", s.StartAt, (-d).Round(time.Second))
	case d > StartAtHorizon:
		return fmt.Errorf("--start-at %s is %s ahead, more than %s: check the date and time zone", s.StartAt, d.Round(time.Second), StartAtHorizon)
	}
	s.StartTime = t
	return nil
}

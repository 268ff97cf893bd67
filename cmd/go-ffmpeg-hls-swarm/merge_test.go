package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/origin/origintest"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/event"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/metrics"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/report"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

// runRecords is one run's events as the swarm produces them: each client starts, fetches its
// playlists and segments through the meter (per-attempt records with TTFB, download time,
// bytes, statuses, failed connections), sometimes restarts, and is stopped at the end.
func runRecords(clients int, seed uint64) []event.Event {
	rng := rand.New(rand.NewPCG(seed, seed))
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	ms := func(lo, hi int) time.Duration { return time.Duration(lo+rng.IntN(hi-lo)) * time.Millisecond }
	var evs []event.Event
	for c := range clients {
		at := t0.Add(time.Duration(c) * 200 * time.Millisecond)
		evs = append(evs, event.Event{Kind: event.ClientStarted, Client: c, Time: at})
		attempt := 0
		for i := range 40 {
			at = at.Add(ms(500, 1500))
			req := event.Event{Kind: event.Request, Client: c, Attempt: attempt, Time: at, Object: event.ObjectMedia,
				Status: 200, Bytes: int64(300 + rng.IntN(50)), TTFB: ms(1, 20), Reused: i > 0}
			req.Elapsed = req.TTFB + ms(0, 5)
			if i%4 != 0 {
				req.Object, req.Media = event.ObjectSegment, 2*time.Second
				req.Bytes = int64(200_000 + rng.IntN(400_000))
				req.TTFB = ms(2, 900)
				req.Elapsed = req.TTFB + ms(5, 3000)
			}
			switch r := rng.IntN(100); {
			case r < 4:
				req.Status, req.Bytes, req.Class, req.Elapsed = 404, 150, event.ClassHTTP, req.TTFB
			case r < 6:
				req.Status, req.Bytes, req.Class, req.TTFB, req.Elapsed = 0, 0, event.ClassRefused, 0, ms(1, 3)
			}
			evs = append(evs, req)
			if i == 20 && c%5 == 0 { // every fifth client is killed and restarted once
				evs = append(evs, event.Event{Kind: event.ClientExited, Client: c, Attempt: attempt, Time: at, Reason: "killed", Status: -1},
					event.Event{Kind: event.ClientRestartScheduled, Client: c, Time: at, Elapsed: 250 * time.Millisecond})
				attempt++
				at = at.Add(250 * time.Millisecond)
				evs = append(evs, event.Event{Kind: event.ClientStarted, Client: c, Attempt: attempt, Time: at})
			}
		}
		evs = append(evs, event.Event{Kind: event.ClientExited, Client: c, Attempt: attempt, Time: t0.Add(time.Minute), Reason: "stopped"})
	}
	slices.SortStableFunc(evs, func(a, b event.Event) int { return a.Time.Compare(b.Time) }) // the clients run at once
	return evs
}

// writeSummary feeds events to a fresh metrics collector (the run's registry) and writes its
// summary as a run does.
func writeSummary(t *testing.T, path string, clients int, evs []event.Event, shard *report.Shard) report.Summary {
	t.Helper()
	col := metrics.New("test")
	col.SetTarget(clients)
	for _, e := range evs {
		col.Handle(e)
	}
	snap, err := col.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	run := report.Run{URL: "http://127.0.0.1:8080/stream.m3u8", Version: "test", Started: t0, Ended: t0.Add(time.Minute), Shard: shard}
	if shard != nil { // shards start and end a little apart
		run.Started = run.Started.Add(time.Duration(shard.Index) * time.Second)
		run.Ended = run.Ended.Add(-time.Duration(shard.Index) * time.Second)
	}
	sum := report.New(run, snap, nil)
	if err := sum.WriteJSONFile(path); err != nil {
		t.Fatal(err)
	}
	return sum
}

// bucketOf is the index of the histogram bucket holding v (len(bounds) = the +Inf bucket).
func bucketOf(bounds []float64, v float64) int {
	i, _ := slices.BinarySearch(bounds, v)
	return i
}

// TestMergeShards splits one run's records into 4 shards by client (round robin, as --shard
// splits clients), feeds each shard to its own metrics registry, and merges the 4 summaries
// with the built binary: the counters equal the single run's, every percentile lies in the
// same histogram bucket as the single run's, and a threshold that fails on the merged data
// exits 1.
func TestMergeShards(t *testing.T) {
	bin := swarmBuildBinary(t)
	dir := t.TempDir()
	const clients, shards = 22, 4
	evs := runRecords(clients, 7)
	single := writeSummary(t, filepath.Join(dir, "single.json"), clients, evs, nil)
	shardDir := filepath.Join(dir, "shards")
	if err := os.Mkdir(shardDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range shards {
		var part []event.Event
		n := 0
		for _, e := range evs {
			if e.Client%shards == i {
				part = append(part, e)
			}
		}
		for c := i; c < clients; c += shards {
			n++
		}
		writeSummary(t, filepath.Join(shardDir, "shard-"+string(rune('0'+i))+".json"), n, part, &report.Shard{Index: i, Count: shards})
	}

	merged := filepath.Join(dir, "merged.json")
	stdout, stderr, code := originRun(t, bin, "merge", "--summary-json", merged, "--threshold", "error_rate<0.5", shardDir)
	if code != 0 || stderr != "" || !strings.Contains(stdout, "result") || !strings.Contains(stdout, "PASS  error_rate<0.5") {
		t.Fatalf("merge: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	m := readSummary(t, merged)

	if m.Requests.Total < 800 || m.Errors.Total == 0 || m.Restarts == 0 {
		t.Fatalf("the records are too small to test anything: %d requests, %d errors, %d restarts", m.Requests.Total, m.Errors.Total, m.Restarts)
	}
	counters := []struct {
		name      string
		got, want any
	}{
		{"requests", m.Requests, single.Requests},
		{"errors", m.Errors, single.Errors},
		{"received bytes", m.ReceivedBytes, single.ReceivedBytes},
		{"clients", m.Clients, single.Clients},
		{"starts", m.Starts, single.Starts},
		{"restarts", m.Restarts, single.Restarts},
		{"exits", m.Exits, single.Exits},
		{"stalls", m.Playback.Stalls, single.Playback.Stalls},
		{"bitrates", m.Playback.Bitrate, single.Playback.Bitrate},
		{"started", m.Started, single.Started},
		{"ended", m.Ended, single.Ended},
	}
	for _, c := range counters {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: merged %+v, single run %+v", c.name, c.got, c.want)
		}
	}
	for _, f := range []struct {
		name      string
		got, want float64
	}{{"rebuffer seconds", m.Playback.RebufferSeconds, single.Playback.RebufferSeconds},
		{"watched seconds", m.Playback.WatchedSeconds, single.Playback.WatchedSeconds}} {
		if math.Abs(f.got-f.want) > 1e-6*math.Max(1, f.want) {
			t.Errorf("%s: merged %g, single run %g", f.name, f.got, f.want)
		}
	}
	lat := func(s report.Summary) map[string]report.Latency {
		out := map[string]report.Latency{metrics.Startup: s.Startup}
		for k, v := range s.Latency {
			out[k] = v
		}
		return out
	}
	ml, sl := lat(m), lat(single)
	for name, want := range sl {
		got := ml[name]
		h := single.Histograms[name]
		if want.Samples == 0 && name != metrics.PlaylistLatency {
			t.Errorf("%s: no sample in the single run", name)
		}
		if got.Samples != want.Samples || got.Max != want.Max {
			t.Errorf("%s: merged %d samples, max %g; single run %d, %g", name, got.Samples, got.Max, want.Samples, want.Max)
		}
		if mh := m.Histograms[name]; !slices.Equal(mh.Cumulative, h.Cumulative) || mh.Count != h.Count {
			t.Errorf("%s: merged histogram %v, single run %v", name, mh.Cumulative, h.Cumulative)
		}
		for _, p := range [][2]float64{{got.P50, want.P50}, {got.P90, want.P90}, {got.P95, want.P95}, {got.P99, want.P99}} {
			if bucketOf(h.UpperBounds, p[0]) != bucketOf(h.UpperBounds, p[1]) {
				t.Errorf("%s: merged percentile %g and single run's %g are in different buckets of %v", name, p[0], p[1], h.UpperBounds)
			}
		}
	}
	t.Logf("merged %d requests, %d errors, segment download p95 %gs (single run %gs)", m.Requests.Total, m.Errors.Total,
		m.Latency[metrics.SegmentDownload].P95, single.Latency[metrics.SegmentDownload].P95)

	// merging the single run's summary alone gives back its numbers
	again := filepath.Join(dir, "again.json")
	if _, stderr, code := originRun(t, bin, "merge", "--summary-json", again, filepath.Join(dir, "single.json")); code != 0 {
		t.Fatalf("merge of one summary: exit %d: %s", code, stderr)
	}
	if a := readSummary(t, again); !reflect.DeepEqual(lat(a), sl) || a.Requests.Total != single.Requests.Total {
		t.Errorf("merge of one summary changed its latencies: %+v, want %+v", lat(a), sl)
	}

	// a threshold that fails on the merged data: exit 1, the table says FAIL
	stdout, stderr, code = originRun(t, bin, "merge", "--threshold", "errors==0", shardDir)
	if code != 1 || !strings.Contains(stdout, "FAIL  errors==0") || !strings.Contains(stderr, "thresholds failed: errors==0") {
		t.Errorf("failing threshold: exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}

	// a missing shard is a warning; a duplicate one, another URL, another format, bad JSON,
	// an empty directory are refused in one line, exit 2, nothing printed
	files, _ := filepath.Glob(filepath.Join(shardDir, "*.json"))
	_, stderr, code = originRun(t, bin, "merge", files[0], files[1], files[3])
	if code != 0 || !strings.Contains(stderr, "warning: shards missing: 2/4") {
		t.Errorf("missing shard: exit %d, stderr %q", code, stderr)
	}
	other := readSummary(t, files[1])
	other.URL = "http://127.0.0.1:9/other.m3u8"
	otherURL := filepath.Join(dir, "other-url.json")
	writeJSON(t, otherURL, other)
	other = readSummary(t, files[1])
	other.Shard = nil
	h := other.Histograms[metrics.SegmentTTFB]
	h.UpperBounds = slices.Clone(h.UpperBounds)
	h.UpperBounds[0] = 0.001
	other.Histograms[metrics.SegmentTTFB] = h
	otherBuckets := filepath.Join(dir, "other-buckets.json")
	writeJSON(t, otherBuckets, other)
	oldFormat := filepath.Join(dir, "v1.json")
	writeFile(t, oldFormat, `{"format": 1, "url": "http://127.0.0.1:8080/stream.m3u8"}`)
	broken := filepath.Join(dir, "broken.json")
	writeFile(t, broken, `{"format": 3, `)
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"duplicate shard", []string{files[0], files[1], files[1]}, "are both shard 1/4"},
		{"other URL", []string{files[0], otherURL}, "merge summaries of one URL only"},
		{"other buckets", []string{files[0], otherBuckets}, "histogram segment_ttfb_seconds: bucket bounds"},
		{"old format", []string{files[0], oldFormat}, "v1.json is summary format 1, merge reads format 3"},
		{"broken JSON", []string{broken}, "broken.json is not summary JSON"},
		{"empty directory", []string{empty}, "holds no *.json summary"},
		{"no argument", nil, "requires at least 1 arg"},
		{"bad threshold", []string{"--threshold", "nope<1", files[0]}, "unknown metric \"nope\""},
	} {
		stdout, stderr, code := originRun(t, bin, append([]string{"merge"}, tc.args...)...)
		if code != 2 || stdout != "" || !strings.Contains(stderr, tc.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 2, one line with %q", tc.name, code, stdout, stderr, tc.want)
		}
	}
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, string(b))
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestMergeRealShards runs a real swarm as 2 shards of 4 clients (--shard 0/2 and 1/2, one
// --start-at) for 15 s against the logged test origin, merges the two summaries with the
// binary, and checks the merged totals against nginx's access log (each shard has its own user
// agent, so the log tells them apart) and against the sum of the shard summaries.
func TestMergeRealShards(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 4 real FFmpeg clients for about 30 s; skipped under -short")
	}
	bin := swarmBuildBinary(t)
	// The logged origin; its access log is the independent truth.
	o, ng := startLoggedOrigin(t)
	dir := t.TempDir()
	startAt := time.Now().Add(10 * time.Second).UTC().Truncate(time.Second)
	const shards = 2
	uas := make([]string, shards)
	procs := make([]*swarmProc, shards)
	for i := range shards {
		uas[i] = uaMarker()
		procs[i] = startSwarm(t, bin, "--clients", "4", "--ramp-rate", "4", "--duration", "15s", "--shard", fmt.Sprintf("%d/%d", i, shards),
			"--start-at", startAt.Format(time.RFC3339), "--user-agent", uas[i],
			"--summary-json", filepath.Join(dir, fmt.Sprintf("shard-%d.json", i)), o.PlaylistURL)
	}
	for i, p := range procs {
		if code := p.wait(2 * time.Minute); code != 0 {
			t.Fatalf("shard %d: exit %d", i, code)
		}
		if !strings.Contains(p.stderr.String(), "waiting for --start-at before ramping") {
			t.Errorf("shard %d did not log its wait for --start-at", i)
		}
	}
	var shardSums []report.Summary
	for i := range shards {
		s := readSummary(t, filepath.Join(dir, fmt.Sprintf("shard-%d.json", i)))
		if s.Shard == nil || *s.Shard != (report.Shard{Index: i, Count: shards}) || s.Clients.Target != 2 {
			t.Errorf("shard %d summary: shard %v, %d clients; want %d/%d with 2", i, s.Shard, s.Clients.Target, i, shards)
		}
		if s.Started.Before(startAt) || s.Started.After(startAt.Add(5*time.Second)) {
			t.Errorf("shard %d started at %s, --start-at %s", i, s.Started, startAt)
		}
		shardSums = append(shardSums, s)
	}
	mergedPath := filepath.Join(dir, "merged", "all.json")
	if err := os.Mkdir(filepath.Dir(mergedPath), 0o755); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := originRun(t, bin, "merge", "--summary-json", mergedPath, "--threshold", "errors==0", dir)
	if code != 0 || stderr != "" {
		t.Fatalf("merge: exit %d\n%s\n%s", code, stdout, stderr)
	}
	m := readSummary(t, mergedPath)

	fromMerged := origintest.TallyOf(m.Requests.ObjectStatus, m.Requests.Bytes)
	// nginx writes its buffered log within flush=5s (and on SIGUSR1): wait until it holds the run.
	var want origintest.Tally
	testenv.WaitFor(t, 30*time.Second, "the access log to hold both shards", func() bool {
		want = origintest.NewTally()
		for _, ua := range uas {
			want.AddAll(ng.tally(t, ua))
		}
		return want.Equal(fromMerged)
	})
	var segs, total, bytes int64
	for _, s := range shardSums {
		segs, total, bytes = segs+s.Requests.Segments, total+s.Requests.Total, bytes+s.ReceivedBytes
	}
	if m.Requests.Segments != segs || m.Requests.Total != total || m.ReceivedBytes != bytes || m.Clients.Target != 4 || m.MergedFrom != 2 {
		t.Errorf("merged: %d segments, %d attempts, %d bytes, %d clients; shards sum to %d, %d, %d, 4", m.Requests.Segments,
			m.Requests.Total, m.ReceivedBytes, m.Clients.Target, segs, total, bytes)
	}
	if m.Requests.Segments < 4*(15/2-3) || m.Startup.Samples < 4 {
		t.Errorf("merged run too small: %d segments, %d start-ups", m.Requests.Segments, m.Startup.Samples)
	}
	t.Logf("access log = merge of 2 shards: %s; %d attempts, startup p95 %gs", want, m.Requests.Total, m.Startup.P95)
}

// runStdin runs bin with stdin and returns its exit code.
func runStdin(t *testing.T, bin string, stdin []byte, stdout, stderr *bytes.Buffer, args ...string) int {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(stdin), stdout, stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode()
	case err != nil:
		t.Fatalf("run %v: %v", args, err)
	}
	return 0
}

// TestMergeStdin merges summaries from stdin as `kubectl logs` of an Indexed Job prints them:
// each shard's log lines, its table and its summary as one JSON line (--summary-json -). The
// result equals the merge of the same summaries as files; stdin without a summary line, or with
// a broken one, is refused in one line (exit 2, nothing on stdout).
func TestMergeStdin(t *testing.T) {
	bin := swarmBuildBinary(t)
	dir := t.TempDir()
	evs := runRecords(9, 3)
	var logs bytes.Buffer
	for i := range 3 {
		var part []event.Event
		for _, e := range evs {
			if e.Client%3 == i {
				part = append(part, e)
			}
		}
		path := filepath.Join(dir, fmt.Sprintf("shard-%d.json", i))
		s := writeSummary(t, path, 3, part, &report.Shard{Index: i, Count: 3})
		fmt.Fprintf(&logs, "time=2026-11-27T12:00:00Z level=INFO msg=\"effective settings\" shard=%d/3\n", i)
		if err := s.WriteTable(&logs); err != nil {
			t.Fatal(err)
		}
		if err := s.WriteJSONLine(&logs); err != nil {
			t.Fatal(err)
		}
	}
	fromFiles := filepath.Join(dir, "files.json")
	if _, stderr, code := originRun(t, bin, "merge", "--summary-json", fromFiles, filepath.Join(dir, "shard-0.json"),
		filepath.Join(dir, "shard-1.json"), filepath.Join(dir, "shard-2.json")); code != 0 {
		t.Fatalf("merge of files: exit %d: %s", code, stderr)
	}
	fromStdin := filepath.Join(t.TempDir(), "stdin.json")
	var stdout, stderr bytes.Buffer
	if code := runStdin(t, bin, logs.Bytes(), &stdout, &stderr, "merge", "--summary-json", fromStdin, "-"); code != 0 || stderr.Len() != 0 {
		t.Fatalf("merge -: exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	a, b := readSummary(t, fromFiles), readSummary(t, fromStdin)
	if !reflect.DeepEqual(a, b) || b.MergedFrom != 3 {
		t.Errorf("merge - differs from the merge of the same files:\n%+v\n%+v", b, a)
	}
	for _, tc := range []struct{ name, in, want string }{
		{"no summary line", "level=INFO msg=hello\n", "stdin holds no summary line"},
		{"cut summary line", "x\n{\"format\":3,\"url\":\n", "stdin line 2 is not summary JSON"},
	} {
		stdout.Reset()
		stderr.Reset()
		code := runStdin(t, bin, []byte(tc.in), &stdout, &stderr, "merge", "-")
		if code != 2 || stdout.Len() != 0 || !strings.Contains(stderr.String(), tc.want) || strings.Count(strings.TrimSpace(stderr.String()), "\n") != 0 {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 2, one line with %q", tc.name, code, stdout.String(), stderr.String(), tc.want)
		}
	}
}

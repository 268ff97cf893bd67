package timeseries

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/event"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/metrics"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/report"
)

// TestSamplerAddsUp feeds a collector in three bursts, samples after each, and checks that the
// intervals add up to the final totals and that each interval's percentiles are those of that
// interval's observations alone.
func TestSamplerAddsUp(t *testing.T) {
	c := metrics.New("test")
	c.SetTarget(2)
	t0 := time.Unix(1_700_000_000, 0)
	s := NewSampler(t0, 10*time.Second)
	req := func(client int, object string, status int, bytes int64, class string, ttfb time.Duration) {
		c.Handle(event.Event{Kind: event.Request, Client: client, Time: time.Now(), Object: object, Status: status,
			Bytes: bytes, Class: class, TTFB: ttfb, Elapsed: 2 * ttfb, Media: 2 * time.Second})
	}
	c.Handle(event.Event{Kind: event.ClientStarted, Client: 0, Time: time.Now()})
	c.Handle(event.Event{Kind: event.ClientStarted, Client: 1, Time: time.Now()})
	var recs []Record
	snap := func(at float64) {
		t.Helper()
		sn, err := c.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, s.Next(sn, t0.Add(time.Duration(at*float64(time.Second)))))
	}
	// interval 1: fast segments
	for range 10 {
		req(0, event.ObjectSegment, 200, 1000, "", 3*time.Millisecond)
	}
	req(1, event.ObjectMedia, 200, 100, "", time.Millisecond)
	snap(2)
	// interval 2: slow segments and errors
	for range 4 {
		req(1, event.ObjectSegment, 200, 5000, "", 400*time.Millisecond)
	}
	req(1, event.ObjectSegment, 404, 20, event.ClassHTTP, time.Millisecond)
	req(0, event.ObjectMedia, 0, 0, event.ClassRefused, 0)
	snap(4)
	// interval 3: nothing
	snap(6.5)
	final, err := c.Snapshot()
	if err != nil {
		t.Fatal(err)
	}

	var att, byt, errs int64
	for _, r := range recs {
		att, byt, errs = att+r.Attempts, byt+r.Bytes, errs+r.Errors
	}
	sum := report.New(report.Run{}, final, nil)
	if att != sum.Requests.Total || byt != sum.ReceivedBytes || errs != sum.Errors.Total {
		t.Errorf("intervals add up to attempts %d bytes %d errors %d; summary %d %d %d", att, byt, errs,
			sum.Requests.Total, sum.ReceivedBytes, sum.Errors.Total)
	}
	last := recs[len(recs)-1].Totals
	if last.Attempts != sum.Requests.Total || last.Bytes != sum.ReceivedBytes || last.Errors != sum.Errors.Total {
		t.Errorf("last totals %+v, summary attempts %d bytes %d errors %d", last, sum.Requests.Total, sum.ReceivedBytes, sum.Errors.Total)
	}
	r1, r2, r3 := recs[0], recs[1], recs[2]
	if r1.Attempts != 11 || r1.Bytes != 10100 || r1.Errors != 0 || r1.AttemptsPerSecond != 5.5 {
		t.Errorf("interval 1: %+v", r1)
	}
	if r2.Attempts != 6 || r2.Errors != 2 || r2.ErrorsByClass["http"] != 1 || r2.ErrorsByClass["refused"] != 1 ||
		r2.HTTPErrorsByStatus["404"] != 1 || len(r2.HTTPErrorsByStatus) != 1 {
		t.Errorf("interval 2: %+v", r2)
	}
	// 3 ms TTFBs lie in the (0, 5 ms] bucket; 400 ms in (250 ms, 500 ms]: each interval sees only its own.
	if r1.SegmentTTFB.Samples != 10 || r1.SegmentTTFB.P95 > 0.005 {
		t.Errorf("interval 1 ttfb %+v: want 10 samples, p95 ≤ 5ms", r1.SegmentTTFB)
	}
	if r2.SegmentTTFB.Samples != 4 || r2.SegmentTTFB.P50 <= 0.25 || r2.SegmentTTFB.P95 > 0.5 {
		t.Errorf("interval 2 ttfb %+v: want 4 samples in (0.25, 0.5]", r2.SegmentTTFB)
	}
	if r3.Attempts != 0 || r3.SegmentTTFB.Samples != 0 || r3.IntervalSeconds != 2.5 || *r3.RemainingSeconds != 3.5 {
		t.Errorf("interval 3: %+v", r3)
	}
	if r3.Clients.Active != 2 || r3.Clients.Target != 2 {
		t.Errorf("clients %+v, want 2/2", r3.Clients)
	}
	line := StatusLine(r2)
	for _, want := range []string{"[00:04/00:10]", "clients 2/2 (stalled", "3.0 req/s", "errors 2 (http 1, refused 1)", "seg ttfb p95 "} {
		if !strings.Contains(line, want) {
			t.Errorf("status line %q lacks %q", line, want)
		}
	}
}

func TestFiles(t *testing.T) {
	rem := 3.0
	recs := []Record{
		{Time: time.Unix(1, 0), ElapsedSeconds: 1, Attempts: 3, ErrorsByClass: map[string]int64{"timeout": 2},
			HTTPErrorsByStatus: map[string]int64{"503": 1, "404": 2}, RemainingSeconds: &rem},
		{Time: time.Unix(2, 0), ElapsedSeconds: 2, Attempts: 4, Final: true},
	}
	dir := t.TempDir()
	for _, name := range []string{"run.ndjson", "run.CSV"} {
		path := filepath.Join(dir, name)
		f, err := Create(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if err := f.Write(r); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		fh, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		if IsCSV(path) {
			rows, err := csv.NewReader(fh).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			col := map[string]int{}
			for i, h := range rows[0] {
				col[h] = i
			}
			if len(rows) != 3 || rows[1][col["attempts"]] != "3" || rows[1][col["errors_timeout"]] != "2" ||
				rows[1][col["http_errors_by_status"]] != "404=2;503=1" || rows[1][col["remaining_seconds"]] != "3" ||
				rows[2][col["remaining_seconds"]] != "" || rows[2][col["final"]] != "true" {
				t.Errorf("csv rows %q", rows)
			}
			continue
		}
		sc := bufio.NewScanner(fh)
		var got []Record
		for sc.Scan() {
			var r Record
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatalf("line %q: %v", sc.Text(), err)
			}
			got = append(got, r)
		}
		if len(got) != 2 || got[0].Attempts != 3 || got[0].HTTPErrorsByStatus["503"] != 1 || *got[0].RemainingSeconds != 3 ||
			got[1].RemainingSeconds != nil || !got[1].Final {
			t.Errorf("ndjson records %+v", got)
		}
	}
}

// TestSeries runs the sampling loop on a collector fed while it runs: records arrive in order,
// the final one comes from the snapshot given to Final, and nothing is written after it.
func TestSeries(t *testing.T) {
	c := metrics.New("test")
	var (
		mu   sync.Mutex
		recs []Record
	)
	out := OutputFunc(func(r Record) error {
		mu.Lock()
		defer mu.Unlock()
		recs = append(recs, r)
		return nil
	})
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(recs)
	}
	start := time.Now()
	s := Start(start, 0, 10*time.Millisecond, c.Snapshot, out)
	for i := 0; count() < 3; i++ {
		if time.Since(start) > time.Minute {
			t.Fatal("no 3 records within a minute")
		}
		c.Handle(event.Event{Kind: event.Request, Client: 0, Time: time.Now(), Object: event.ObjectSegment, Status: 200, Bytes: 10})
		time.Sleep(time.Millisecond)
	}
	s.Stop()
	n := count()
	c.Handle(event.Event{Kind: event.Request, Client: 0, Time: time.Now(), Object: event.ObjectSegment, Status: 200, Bytes: 10})
	snap, err := c.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Final(snap, time.Now()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(recs) != n+1 || !recs[n].Final || recs[n].Attempts < 1 {
		t.Fatalf("%d records after Stop, then %d; last %+v", n, len(recs), recs[len(recs)-1])
	}
	var att int64
	for i, r := range recs {
		att += r.Attempts
		if i > 0 && !r.Time.After(recs[i-1].Time) {
			t.Errorf("record %d at %s, not after %s", i, r.Time, recs[i-1].Time)
		}
		if r.RemainingSeconds != nil || r.DurationSeconds != 0 {
			t.Errorf("record %d of an unbounded run has remaining %v", i, r.RemainingSeconds)
		}
	}
	if total := snap.Attempts[event.ObjectSegment]; att != total || recs[n].Totals.Attempts != total {
		t.Errorf("records add up to %d, final totals %d, snapshot %d", att, recs[n].Totals.Attempts, total)
	}
}

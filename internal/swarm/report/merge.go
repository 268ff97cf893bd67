package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/metrics"
)

// Input is one summary to merge and the file it came from.
type Input struct {
	Path    string
	Summary Summary
}

// Load reads the summaries named by args: files, or directories whose *.json files (not
// recursive) are read in name order, or "-": the summary lines in stdin (see ReadStream). Every
// error is one line naming the file: a missing file, an empty directory, JSON that does not
// parse, a summary of another format.
func Load(args []string, stdin io.Reader) ([]Input, error) {
	if len(args) == 0 {
		return nil, errors.New("no summary given: name summary JSON files or directories holding them")
	}
	var paths []string
	var out []Input
	stdinRead := false
	for _, a := range args {
		if a == "-" {
			if stdinRead {
				return nil, errors.New("- (stdin) named twice: name it once")
			}
			stdinRead = true
			in, err := ReadStream("stdin", stdin)
			if err != nil {
				return nil, err
			}
			out = append(out, in...)
			continue
		}
		fi, err := os.Stat(a)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", a, errors.Unwrap(err))
		}
		if !fi.IsDir() {
			paths = append(paths, a)
			continue
		}
		found, err := filepath.Glob(filepath.Join(a, "*.json"))
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("directory %s holds no *.json summary: name the directory the shards wrote their --summary-json to", a)
		}
		slices.Sort(found)
		paths = append(paths, found...)
	}
	for _, p := range paths {
		s, err := ReadSummary(p)
		if err != nil {
			return nil, err
		}
		out = append(out, Input{Path: p, Summary: s})
	}
	return out, nil
}

// StreamPrefix starts every summary line of a stream: a summary written with --summary-json -
// is one line of compact JSON whose first key is "format".
const StreamPrefix = `{"format":`

// ReadStream reads the summaries in a stream of lines, such as `kubectl logs` of the pods of an
// Indexed Job whose shards ran with --summary-json - (their logs and tables around them): every
// line that starts with StreamPrefix is a summary, every other line is skipped. name names the
// stream in errors, which say which line is wrong; a stream without any summary line is an error.
func ReadStream(name string, r io.Reader) ([]Input, error) {
	br := bufio.NewReader(r)
	var out []Input
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read %s: %v", name, err)
		}
		if l := bytes.TrimRight(line, "\r\n"); bytes.HasPrefix(l, []byte(StreamPrefix)) {
			where := fmt.Sprintf("%s line %d", name, n)
			s, perr := parseSummary(where, l)
			if perr != nil {
				return nil, perr
			}
			out = append(out, Input{Path: where, Summary: s})
		}
		if err != nil {
			break
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no summary line (%s…): pipe in the logs of shards run with --summary-json -, e.g. kubectl logs -l batch.kubernetes.io/job-name=JOB --tail=-1", name, StreamPrefix)
	}
	return out, nil
}

// ReadSummary reads one --summary-json file, refusing anything that is not a summary of this
// format in one line that names the file.
func ReadSummary(path string) (Summary, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Summary{}, fmt.Errorf("%s: %v", path, errors.Unwrap(err))
	}
	return parseSummary(path, b)
}

// parseSummary decodes one summary; path names it in errors.
func parseSummary(path string, b []byte) (Summary, error) {
	var probe struct {
		Format *int `json:"format"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return Summary{}, fmt.Errorf("%s is not summary JSON: %v", path, err)
	}
	if probe.Format == nil {
		return Summary{}, fmt.Errorf("%s has no \"format\": not a go-ffmpeg-hls-swarm --summary-json file", path)
	}
	if *probe.Format != SummaryFormat {
		return Summary{}, fmt.Errorf("%s is summary format %d, merge reads format %d: run every shard with the same go-ffmpeg-hls-swarm version", path, *probe.Format, SummaryFormat)
	}
	var s Summary
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&s); err != nil {
		return Summary{}, fmt.Errorf("%s is not summary JSON: %v", path, err)
	}
	return s, nil
}

// Merge combines shard summaries into one summary of the whole run and evaluates thresholds on
// it. Counters are summed; histograms are added bucket by bucket (their bounds must be equal);
// percentiles are recomputed from the merged histograms exactly as a single run computes
// them (Quantile), and maxima are the largest of the shards'; the run starts at the earliest
// start and ends at the latest end; clients target, peak and active at end are summed (the peaks
// of different machines need not coincide, so the merged peak is an upper bound); per-client
// bitrates are pooled. It refuses, with one line naming a file, summaries of different URLs,
// different bucket layouts, different shard counts, or the same shard twice. Shards missing
// from 0..N-1 are returned as warnings, one line each.
func Merge(in []Input, thresholds []Threshold) (Summary, []string, error) {
	if len(in) == 0 {
		return Summary{}, nil, errors.New("no summary to merge")
	}
	first := in[0]
	m := Summary{
		Format: SummaryFormat, URL: first.Summary.URL, Started: first.Summary.Started, Ended: first.Summary.Ended,
		Exits: map[string]int64{}, Histograms: map[string]metrics.Histogram{}, MergedFrom: len(in),
		Requests: Requests{ByObject: map[string]int64{}, ObjectStatus: map[string]map[string]int64{}, Bytes: map[string]int64{}},
		Errors:   Errors{ObjectCls: map[string]map[string]int64{}},
		Playback: Playback{Stream: "live"},
	}
	versions := map[string]bool{}
	maxima := map[string]float64{}
	seen := map[int]string{}
	shardCount := 0
	for _, x := range in {
		s := x.Summary
		if s.URL != m.URL {
			return Summary{}, nil, fmt.Errorf("%s is a run of %s, %s of %s: merge summaries of one URL only", x.Path, s.URL, first.Path, m.URL)
		}
		if sh := s.Shard; sh != nil {
			if shardCount != 0 && sh.Count != shardCount {
				return Summary{}, nil, fmt.Errorf("%s is shard %s, another summary has %d shards: merge the shards of one run only", x.Path, sh, shardCount)
			}
			shardCount = sh.Count
			if prev, dup := seen[sh.Index]; dup {
				return Summary{}, nil, fmt.Errorf("%s and %s are both shard %s: merge each shard once", prev, x.Path, sh)
			}
			seen[sh.Index] = x.Path
		}
		versions[s.Version] = true
		if s.Started.Before(m.Started) {
			m.Started = s.Started
		}
		if s.Ended.After(m.Ended) {
			m.Ended = s.Ended
		}
		m.Interrupted = m.Interrupted || s.Interrupted
		m.Clients.Target += s.Clients.Target
		m.Clients.Peak += s.Clients.Peak
		m.Clients.ActiveAtEnd += s.Clients.ActiveAtEnd
		m.Starts += s.Starts
		m.Restarts += s.Restarts
		addCounts(m.Exits, s.Exits)
		addCounts(m.Requests.ByObject, s.Requests.ByObject)
		addCounts(m.Requests.Bytes, s.Requests.Bytes)
		addNested(m.Requests.ObjectStatus, s.Requests.ObjectStatus)
		addNested(m.Errors.ObjectCls, s.Errors.ObjectCls)
		m.Requests.Reused += s.Requests.Reused
		pb := s.Playback
		m.Playback.Stalls += pb.Stalls
		m.Playback.StalledAtEnd += pb.StalledAtEnd
		m.Playback.RebufferSeconds += pb.RebufferSeconds
		m.Playback.WatchedSeconds += pb.WatchedSeconds
		if pb.Stream == "vod" {
			m.Playback.Stream = "vod"
		}
		if len(pb.Bitrate.PerClient) != pb.Bitrate.Clients {
			return Summary{}, nil, fmt.Errorf("%s lists %d per-client bitrates for %d clients: not a complete summary", x.Path, len(pb.Bitrate.PerClient), pb.Bitrate.Clients)
		}
		m.Playback.Bitrate.PerClient = append(m.Playback.Bitrate.PerClient, pb.Bitrate.PerClient...)
		for name, h := range s.Histograms {
			sum, err := addHistogram(m.Histograms[name], h)
			if err != nil {
				return Summary{}, nil, fmt.Errorf("%s: histogram %s: %v: merge summaries of the same version only", x.Path, name, err)
			}
			m.Histograms[name] = sum
		}
		for name, l := range s.latencies() {
			maxima[name] = max(maxima[name], l.Max)
		}
	}
	m.Version = strings.Join(slices.Sorted(maps.Keys(versions)), ", ")
	var warnings []string
	if shardCount > 0 {
		var missing []string
		for i := range shardCount {
			if _, ok := seen[i]; !ok {
				missing = append(missing, fmt.Sprintf("%d/%d", i, shardCount))
			}
		}
		if len(missing) > 0 {
			warnings = append(warnings, fmt.Sprintf("shards missing: %s (the merged totals lack them)", strings.Join(missing, ", ")))
		}
	}
	m.derive(maxima, thresholds)
	return m, warnings, nil
}

// latencies are the summary's latencies by histogram name.
func (s Summary) latencies() map[string]Latency {
	out := maps.Clone(s.Latency)
	if out == nil {
		out = map[string]Latency{}
	}
	out[metrics.Startup] = s.Startup
	return out
}

func addCounts(dst, src map[string]int64) {
	for k, n := range src {
		dst[k] += n
	}
}

func addNested(dst, src map[string]map[string]int64) {
	for k, inner := range src {
		if dst[k] == nil {
			dst[k] = map[string]int64{}
		}
		addCounts(dst[k], inner)
	}
}

// addHistogram adds b to a bucket by bucket; a zero a takes b's layout.
func addHistogram(a, b metrics.Histogram) (metrics.Histogram, error) {
	if len(b.UpperBounds) != len(b.Cumulative) {
		return metrics.Histogram{}, fmt.Errorf("%d bounds but %d counts", len(b.UpperBounds), len(b.Cumulative))
	}
	if a.UpperBounds == nil {
		return metrics.Histogram{UpperBounds: slices.Clone(b.UpperBounds), Cumulative: slices.Clone(b.Cumulative), Count: b.Count, Sum: b.Sum}, nil
	}
	if !slices.Equal(a.UpperBounds, b.UpperBounds) {
		return metrics.Histogram{}, fmt.Errorf("bucket bounds %v differ from %v", b.UpperBounds, a.UpperBounds)
	}
	for i := range a.Cumulative {
		a.Cumulative[i] += b.Cumulative[i]
	}
	a.Count += b.Count
	a.Sum += b.Sum
	return a, nil
}

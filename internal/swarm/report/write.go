package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/metrics"
)

// WriteTable prints the summary as an aligned table.
func (s Summary) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, format string, args ...any) { fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{k}, args...)...) }
	end := "completed"
	if s.Interrupted {
		end = "interrupted"
	}
	fmt.Fprintf(tw, "== go-ffmpeg-hls-swarm summary (%s)\n", s.Version)
	row("url", "%s", s.URL)
	row("duration", "%s (%s)", (time.Duration(s.DurationSeconds * float64(time.Second))).Round(100*time.Millisecond), end)
	row("clients", "target %d, peak %d, active at end %d", s.Clients.Target, s.Clients.Peak, s.Clients.ActiveAtEnd)
	row("starts", "%d (restarts %d)", s.Starts, s.Restarts)
	row("exits", "%s", counts(s.Exits))
	row("requests", "%d (playlists %d, segments %d; by object: %s; by status: %s; %d on kept-alive connections)",
		s.Requests.Total, s.Requests.Playlists, s.Requests.Segments, counts(s.Requests.ByObject), counts(s.Requests.Status), s.Requests.Reused)
	row("received", "%s", humanBytes(s.ReceivedBytes))
	row("errors", "%d failed attempts, error rate %.4f%% (by class: %s; http by status: %s)", s.Errors.Total, 100*s.Errors.Rate,
		counts(s.Errors.Class), counts(s.Errors.HTTPStatus))
	lat := func(name, none string, l Latency) {
		if l.Samples == 0 {
			row(name, "%s", none)
			return
		}
		row(name, "p50 %s, p90 %s, p95 %s, p99 %s, max %s (%d samples)", secs(l.P50), secs(l.P90),
			secs(l.P95), secs(l.P99), secs(l.Max), l.Samples)
	}
	lat("startup", "no client received a segment", s.Startup)
	lat("segment ttfb", "no segment received", s.Latency[metrics.SegmentTTFB])
	lat("segment download", "no segment received", s.Latency[metrics.SegmentDownload])
	lat("playlist", "no playlist received", s.Latency[metrics.PlaylistLatency])
	pb := s.Playback
	row("playback", "%s stream; %d stalls, %s stalled of %s watched (rebuffer ratio %s), stalled at end %d",
		pb.Stream, pb.Stalls, secs(pb.RebufferSeconds), secs(pb.WatchedSeconds), Show(Ratio, pb.RebufferRatio), pb.StalledAtEnd)
	if pb.Bitrate.Clients > 0 {
		row("bitrate", "min %s, p50 %s, max %s per client (%d clients)", bitrate(pb.Bitrate.Min), bitrate(pb.Bitrate.P50),
			bitrate(pb.Bitrate.Max), pb.Bitrate.Clients)
	}
	for _, r := range s.Thresholds {
		mark, actual := "PASS", r.Shown
		if !r.Pass {
			mark = "FAIL"
		}
		if r.Missing {
			actual = "no value"
		}
		row("threshold", "%s  %s  (actual %s)", mark, r.Threshold, actual)
	}
	verdict := "PASS"
	if !s.Pass {
		verdict = "FAIL"
	}
	row("result", "%s", verdict)
	return tw.Flush()
}

func counts(m map[string]int64) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// secs prints seconds as a duration: to the millisecond, or the microsecond below 10 ms.
func secs(v float64) string {
	d := time.Duration(v * float64(time.Second))
	if d < 10*time.Millisecond {
		return d.Round(time.Microsecond).String()
	}
	return d.Round(time.Millisecond).String()
}

func bitrate(bps float64) string { return fmt.Sprintf("%.2f Mb/s", bps/1e6) }

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB (%d bytes)", float64(n)/float64(div), "KMGTPE"[exp], n)
}

// WriteJSONLine writes the summary as one line of compact JSON starting with StreamPrefix, in
// one write, for --summary-json -: a stream of logs that holds it (kubectl logs) can be merged
// (ReadStream).
func (s Summary) WriteJSONLine(w io.Writer) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return fmt.Errorf("encode summary: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	return nil
}

// WriteJSONFile writes the summary as indented JSON to path atomically: to a temporary file in
// the same directory, synced, then renamed over path, so a reader never sees a partial file.
func (s Summary) WriteJSONFile(path string) (err error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // "error_rate<0.01", not "error_rate\u003c0.01"
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return fmt.Errorf("encode summary: %w", err)
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("write summary %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write summary %s: %w", path, err)
	}
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("write summary %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("write summary %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write summary %s: %w", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write summary %s: %w", path, err)
	}
	return nil
}

// CheckPath fails early, before a run, when the file a flag names (--summary-json,
// --timeseries) could not be written.
func CheckPath(flag, path string) error {
	dir := filepath.Dir(path)
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("%s %s is a directory: name a file", flag, path)
	}
	f, err := os.CreateTemp(dir, ".write-check-*")
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s %s: directory %s does not exist: create it or choose another path", flag, path, dir)
	case err != nil:
		return fmt.Errorf("%s %s: cannot write in %s (%v): choose another path", flag, path, dir, errors.Unwrap(err))
	}
	f.Close()
	return os.Remove(f.Name())
}

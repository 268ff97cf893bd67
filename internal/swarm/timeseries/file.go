package timeseries

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/report"
)

// An NDJSON time series is, one JSON object a line:
//
//	{"header": Header}     first: the run's settings and thresholds (written when the ramp starts)
//	Record …               one per interval, the last with "final": true
//	{"summary": Summary}   last: the end-of-run summary and verdict (report.Summary, as --summary-json)
//
// A run killed before its end has no final record and no summary line. A file written before
// the header and summary lines existed holds records only; Read accepts it. A CSV time series
// holds the records only.

// FileFormat is the version of the NDJSON time series' layout, in its header.
// 1: header, records, summary.
const FileFormat = 1

// Header is the first line of an NDJSON time series: what the run was asked to do.
type Header struct {
	Format  int       `json:"format"`
	Version string    `json:"version"`
	URL     string    `json:"url"`
	Started time.Time `json:"started"`
	// DurationSeconds is --duration (0: until interrupted); IntervalSeconds --progress-interval.
	DurationSeconds float64 `json:"duration_seconds"`
	IntervalSeconds float64 `json:"interval_seconds"`
	// Thresholds are the threshold expressions the verdict is made of, as given.
	Thresholds []string `json:"thresholds"`
	// Settings are the run's effective settings, in the order the log line lists them.
	Settings []Setting `json:"settings"`
}

// Setting is one effective setting: its name, its value as text, and where it came from
// ("flag", "env NAME", "profile NAME" or "default").
type Setting struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	From  string `json:"from"`
}

type headerLine struct {
	Header Header `json:"header"`
}

type summaryLine struct {
	Summary report.Summary `json:"summary"`
}

// WriteHeader writes the header line. Call it once, before the first record. A CSV file holds
// records only: nothing is written.
func (t *File) WriteHeader(h Header) error {
	if t.csv != nil {
		return nil
	}
	h.Format = FileFormat
	return t.writeLine(headerLine{h})
}

// WriteSummary writes the summary line, after the final record. A CSV file holds records only:
// nothing is written.
func (t *File) WriteSummary(s report.Summary) error {
	if t.csv != nil {
		return nil
	}
	return t.writeLine(summaryLine{s})
}

// writeLine writes v as one JSON line with one write.
func (t *File) writeLine(v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // "error_rate<0.01", as in the summary JSON
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := t.f.Write(buf.Bytes())
	return err
}

// Run is an NDJSON time series read back.
type Run struct {
	// Header is nil for a file written before headers existed.
	Header  *Header
	Records []Record
	// Summary is nil when the run did not finish (it was killed, or the file was cut).
	Summary *report.Summary
	// Cut is true when the last line was incomplete (a run killed while writing it); it was
	// left out.
	Cut bool
}

// Finished reports whether the run ended and wrote its summary.
func (r Run) Finished() bool { return r.Summary != nil }

// ReadFile reads an NDJSON time series (see Read). A .csv name is refused: CSV holds the
// records only.
func ReadFile(path string) (Run, error) {
	if IsCSV(path) {
		return Run{}, fmt.Errorf("%s is a CSV time series, which holds the records only: use the NDJSON one (--timeseries run.ndjson)", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return Run{}, err
	}
	defer f.Close()
	run, err := Read(f)
	if err != nil {
		return Run{}, fmt.Errorf("%s: %w", path, err)
	}
	return run, nil
}

// Read reads an NDJSON time series: an optional header line, records, an optional summary
// line. A last line without its newline that does not parse is a cut (Run.Cut); any other
// line that is not one of these, or one out of order, is an error naming the line.
func Read(r io.Reader) (Run, error) {
	var run Run
	br := bufio.NewReader(r)
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return Run{}, err
		}
		last := errors.Is(err, io.EOF)
		if last && len(bytes.TrimSpace(line)) == 0 {
			break
		}
		if perr := run.add(line); perr != nil {
			if last && !json.Valid(line) {
				run.Cut = true
				break
			}
			return Run{}, fmt.Errorf("line %d: %w", n, perr)
		}
		if last {
			break
		}
	}
	if run.Header == nil && len(run.Records) == 0 && run.Summary == nil {
		if run.Cut {
			return Run{}, errors.New("no complete line: not an NDJSON time series, or cut before its first record")
		}
		return Run{}, errors.New("empty: no header, record or summary")
	}
	return run, nil
}

// add parses one line into the run.
func (run *Run) add(line []byte) error {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(line, &probe); err != nil {
		return fmt.Errorf("not a JSON object (%v)", err)
	}
	switch {
	case probe["header"] != nil:
		if run.Header != nil || len(run.Records) > 0 || run.Summary != nil {
			return errors.New("a header after the first line")
		}
		var h headerLine
		if err := json.Unmarshal(line, &h); err != nil {
			return fmt.Errorf("header: %w", err)
		}
		if h.Header.Format > FileFormat {
			return fmt.Errorf("header format %d: written by a newer go-ffmpeg-hls-swarm (this one reads up to %d)", h.Header.Format, FileFormat)
		}
		run.Header = &h.Header
	case probe["summary"] != nil:
		if run.Summary != nil {
			return errors.New("a second summary")
		}
		var s summaryLine
		if err := json.Unmarshal(line, &s); err != nil {
			return fmt.Errorf("summary: %w", err)
		}
		run.Summary = &s.Summary
	case probe["time"] != nil:
		if run.Summary != nil {
			return errors.New("a record after the summary")
		}
		var rec Record
		if err := json.Unmarshal(line, &rec); err != nil {
			return fmt.Errorf("record: %w", err)
		}
		run.Records = append(run.Records, rec)
	default:
		return errors.New("neither a header, a record nor a summary of a time series")
	}
	return nil
}

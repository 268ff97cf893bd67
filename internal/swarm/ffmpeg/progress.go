package ffmpeg

import (
	"bufio"
	"io"
	"strconv"
	"strings"
	"time"
)

// Progress is one block of FFmpeg's -progress output (key=value lines ending in progress=…).
type Progress struct {
	Frame int64
	// OutTime is how much media has been written; OutTimeKnown is false while FFmpeg prints N/A.
	OutTime      time.Duration
	OutTimeKnown bool
	// TotalSize is the output size in bytes, -1 when FFmpeg prints N/A (the null muxer does).
	TotalSize int64
	// Speed is FFmpeg's speed: media written / wall time since it started; SpeedKnown is false
	// while FFmpeg prints N/A.
	Speed      float64
	SpeedKnown bool
	// End is true for the last block (progress=end).
	End bool
}

// ProgressDecoder assembles -progress lines into blocks.
type ProgressDecoder struct {
	cur Progress
}

// NewProgressDecoder returns a decoder with nothing read yet.
func NewProgressDecoder() *ProgressDecoder {
	return &ProgressDecoder{cur: Progress{TotalSize: -1}}
}

// Line feeds one line; it returns a block and true when the line ends one.
func (d *ProgressDecoder) Line(line string) (Progress, bool) {
	key, value, ok := strings.Cut(strings.TrimSpace(line), "=")
	if !ok {
		return Progress{}, false
	}
	value = strings.TrimSpace(value)
	switch key {
	case "frame":
		d.cur.Frame, _ = strconv.ParseInt(value, 10, 64)
	case "out_time_us":
		if us, err := strconv.ParseInt(value, 10, 64); err == nil && us >= 0 {
			d.cur.OutTime, d.cur.OutTimeKnown = time.Duration(us)*time.Microsecond, true
		}
	case "total_size":
		if n, err := strconv.ParseInt(value, 10, 64); err == nil && n >= 0 {
			d.cur.TotalSize = n
		}
	case "speed":
		if f, err := strconv.ParseFloat(strings.TrimSuffix(value, "x"), 64); err == nil {
			d.cur.Speed, d.cur.SpeedKnown = f, true
		}
	case "progress":
		p := d.cur
		p.End = value == "end"
		d.cur = Progress{TotalSize: -1}
		return p, true
	}
	return Progress{}, false
}

// ReadProgress decodes r until EOF, calling fn for each block.
func ReadProgress(r io.Reader, fn func(Progress)) error {
	d := NewProgressDecoder()
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if p, ok := d.Line(sc.Text()); ok {
			fn(p)
		}
	}
	return sc.Err()
}

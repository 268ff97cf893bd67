package report

import (
	"bytes"
	"strings"
	"testing"
)

// TestReadStream: summaries written with WriteJSONLine among the log lines and tables of several
// shards (as `kubectl logs` of an Indexed Job prints them) are read back whole; a stream with
// none, or with a broken or foreign summary line, is refused in one line naming the line.
func TestReadStream(t *testing.T) {
	var logs bytes.Buffer
	for i := range 3 {
		s := New(Run{URL: "u", Shard: &Shard{Index: i, Count: 3}}, snapshot(), nil)
		logs.WriteString("time=2026-12-07T00:00:00Z level=INFO msg=\"effective settings\"\n")
		logs.WriteString(`{"time":"2026-12-07T00:00:00Z","level":"INFO","msg":"a JSON log line"}` + "\n")
		if err := s.WriteTable(&logs); err != nil {
			t.Fatal(err)
		}
		if err := s.WriteJSONLine(&logs); err != nil {
			t.Fatal(err)
		}
	}
	in, err := ReadStream("stdin", strings.NewReader(strings.TrimSuffix(logs.String(), "\n"))) // last line without \n
	if err != nil {
		t.Fatal(err)
	}
	if len(in) != 3 {
		t.Fatalf("read %d summaries, want 3", len(in))
	}
	for i, s := range in {
		if s.Summary.Shard == nil || s.Summary.Shard.Index != i || s.Summary.Requests.Segments != 700 ||
			!strings.HasPrefix(s.Path, "stdin line ") {
			t.Errorf("summary %d: %s, shard %v, %d segments", i, s.Path, s.Summary.Shard, s.Summary.Requests.Segments)
		}
	}
	if _, err := Load([]string{"-", "-"}, &logs); err == nil || !strings.Contains(err.Error(), "named twice") {
		t.Errorf("- twice: %v", err)
	}
	for _, tc := range []struct{ name, in, want string }{
		{"no summary", "level=INFO msg=hello\n== go-ffmpeg-hls-swarm summary\n", "stdin holds no summary line"},
		{"empty", "", "stdin holds no summary line"},
		{"cut summary", "x\n" + `{"format":3,"url":"u"` + "\n", "stdin line 2 is not summary JSON"},
		{"other format", `{"format":1,"url":"u"}` + "\n", "stdin line 1 is summary format 1"},
	} {
		_, err := Load([]string{"-"}, strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want one line with %q", tc.name, err, tc.want)
		}
	}
}

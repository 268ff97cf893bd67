package origintest

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"path"
	"regexp"
	"strconv"
)

// Tally is what an origin answered: responses by object and status, body bytes by object, in
// the swarm summary's terms (requests.by_object_status, requests.bytes_by_object).
type Tally struct {
	Status map[string]map[string]int64 // object → status → count
	Bytes  map[string]int64            // object → body bytes
}

// NewTally is an empty Tally.
func NewTally() Tally { return Tally{Status: map[string]map[string]int64{}, Bytes: map[string]int64{}} }

// TallyOf is the Tally of a swarm summary's counts (its requests.object_status and
// requests.bytes), to compare with an access log's; objects with no bytes are left out, as a log
// with no such response has none.
func TallyOf(statusByObject map[string]map[string]int64, bytesByObject map[string]int64) Tally {
	t := NewTally()
	for obj, byStatus := range statusByObject {
		t.Status[obj] = byStatus
	}
	for obj, n := range bytesByObject {
		if n > 0 {
			t.Bytes[obj] = n
		}
	}
	return t
}

// Add counts one response.
func (t Tally) Add(object string, status int, bytes int64) {
	if t.Status[object] == nil {
		t.Status[object] = map[string]int64{}
	}
	t.Status[object][strconv.Itoa(status)]++
	t.Bytes[object] += bytes
}

// AddAll adds every count of u.
func (t Tally) AddAll(u Tally) {
	for obj, byStatus := range u.Status {
		for st, n := range byStatus {
			if t.Status[obj] == nil {
				t.Status[obj] = map[string]int64{}
			}
			t.Status[obj][st] += n
		}
	}
	for obj, n := range u.Bytes {
		t.Bytes[obj] += n
	}
}

func (t Tally) String() string {
	return fmt.Sprintf("responses %v, bytes %v", t.Status, t.Bytes)
}

// Equal reports whether t and u hold the same counts.
func (t Tally) Equal(u Tally) bool {
	if len(t.Status) != len(u.Status) || !maps.Equal(t.Bytes, u.Bytes) {
		return false
	}
	for k, v := range t.Status {
		if !maps.Equal(v, u.Status[k]) {
			return false
		}
	}
	return true
}

// ObjectOf names what a path of the test origin is (it has no master playlist).
func ObjectOf(p string) string {
	if path.Ext(p) == ".m3u8" {
		return "media"
	}
	return "segment"
}

// accessLine matches a line of the origin's log_format (nginxconf): addr [time] "request"
// status bytes request_time "user agent".
var accessLine = regexp.MustCompile(`^\S+ \[[^\]]+\] "(\S+) (\S+) [^"]*" (\d+) (\d+) \S+ "(.*)"$`)

// ReadAccessLog tallies the lines of r (the logged profiles' access.log) whose user agent is ua,
// less the first preflights 200 answers to a playlist: each swarm process fetches the playlist
// once itself before its clients start (FFmpeg always asks with a Range, answered 206). It
// returns how many such preflights it left out.
func ReadAccessLog(r io.Reader, ua string, preflights int) (Tally, int, error) {
	out := NewTally()
	skipped := 0
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		m := accessLine.FindStringSubmatch(sc.Text())
		if m == nil || m[5] != ua {
			continue
		}
		status, _ := strconv.Atoi(m[3])
		n, _ := strconv.ParseInt(m[4], 10, 64)
		obj := ObjectOf(m[2])
		if skipped < preflights && obj == "media" && status == 200 {
			skipped++
			continue
		}
		out.Add(obj, status, n)
	}
	return out, skipped, sc.Err()
}

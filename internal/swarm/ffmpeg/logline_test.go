package ffmpeg

import (
	"bufio"
	"os"
	"testing"
)

func TestParseLogLine(t *testing.T) {
	tests := []struct {
		line      string
		kind      LogKind
		component string
		level     string
		url       string
		status    int
	}{
		{"[hls @ 0x55ea9afe8100] [verbose] HLS request for url 'http://127.0.0.1:18555/live2.ts', offset 0, playlist 0",
			LogSegmentRequest, "hls", "verbose", "http://127.0.0.1:18555/live2.ts", 0},
		{"[in#0/hls @ 000001f645512200] [verbose] HLS request for url 'http://h/a b.ts', offset 188, playlist 2",
			LogSegmentRequest, "in#0/hls", "verbose", "http://h/a b.ts", 0},
		{"[hls @ 0x55ea9afe8100] HLS request for url 'http://h/x.ts', offset 0, playlist 0", // no level flag
			LogSegmentRequest, "hls", "", "http://h/x.ts", 0},
		{"[http @ 0x55765924c040] [info] Opening 'http://127.0.0.1:18556/live.m3u8' for reading",
			LogOpen, "http", "info", "http://127.0.0.1:18556/live.m3u8", 0},
		{"[http @ 0x5639c2eb9ec0] [warning] HTTP error 404 Not Found", LogHTTPError, "http", "warning", "", 404},
		{"[http @ 0x5639c2eb9ec0] [warning] HTTP error 503 Service Unavailable", LogHTTPError, "http", "warning", "", 503},
		{"[hls @ 0x55bb82801300] [warning] Failed to open segment 93 of playlist 0", LogSegmentFailed, "hls", "warning", "", 0},
		{"[hls @ 0x55662dfa9300] [warning] Failed to reload playlist 0", LogPlaylistFailed, "hls", "warning", "", 0},
		{"[tcp @ 0x55662e0bc280] [error] Connection to tcp://127.0.0.1:43675 failed: Connection refused", LogConnectFailed, "tcp", "error", "", 0},
		{"[tcp @ 0x55662e0bc280] [verbose] Connection attempt to 127.0.0.1 port 43675 failed: Connection refused", LogOther, "tcp", "verbose", "", 0},
		{"[tcp @ 0x1] [error] Connection to tcp://10.0.0.1:80 failed: Connection timed out", LogTimeout, "tcp", "error", "", 0},
		{"[hls @ 0x5649] [warning] keepalive request failed for 'http://h/live.m3u8' with error: 'Connection timed out' when parsing playlist",
			LogTimeout, "hls", "warning", "", 0},
		{"[hls @ 0x5639] [warning] keepalive request failed for 'http://h/live5.ts' with error: 'Server returned 404 Not Found' when opening url, retrying with new connection",
			LogReconnect, "hls", "warning", "", 0},
		{"[http @ 0x7f52] [warning] Will reconnect at 0 in 1 second(s).", LogReconnect, "http", "warning", "", 0},
		{"[http @ 0x7f52] [warning] Will reconnect at 20000 in 0 second(s), error=End of file.", LogReconnect, "http", "warning", "", 0},
		{"[http @ 0x562b] [error] Stream ends prematurely at 20000, should be 100000", LogTruncated, "http", "error", "", 0},
		{"[in#0/hls @ 000001f645512200] Segment 1 of playlist 0 failed too many times, skipping", LogOther, "in#0/hls", "", "", 0},
		{"[info] Input #0, hls, from 'http://127.0.0.1:18555/live.m3u8':", LogOther, "", "info", "", 0},
		{"[AVIOContext @ 0x55ea] [verbose] Statistics: 53768 bytes read, 0 seeks", LogOther, "AVIOContext", "verbose", "", 0},
		{"User-Agent: Lavf/59.27.100", LogOther, "", "", "", 0},
		{"", LogOther, "", "", "", 0},
	}
	for _, tt := range tests {
		e := ParseLogLine(tt.line)
		if e.Kind != tt.kind || e.Component != tt.component || e.Level != tt.level || e.URL != tt.url || e.Status != tt.status {
			t.Errorf("%q:\n got kind=%s comp=%q level=%q url=%q status=%d", tt.line, e.Kind, e.Component, e.Level, e.URL, e.Status)
		}
	}
}

// TestParseLogFiles counts each kind of line in every sample; the expected numbers were
// counted with grep on the files (see testdata/README.md for what each file is).
func TestParseLogFiles(t *testing.T) {
	tests := []struct {
		file string
		want map[LogKind]int
	}{
		{"5.1/live.stderr.log", map[LogKind]int{LogSegmentRequest: 22, LogOpen: 39}},
		{"5.1/live-debug.stderr.log", map[LogKind]int{LogSegmentRequest: 11, LogOpen: 20}},
		{"5.1/segment-404-retried.stderr.log", map[LogKind]int{LogSegmentRequest: 21, LogOpen: 44, LogHTTPError: 6, LogReconnect: 6}},
		{"5.1/segment-404.stderr.log", map[LogKind]int{LogSegmentRequest: 21, LogHTTPError: 8, LogReconnect: 4, LogSegmentFailed: 4}},
		{"5.1/segment-500.stderr.log", map[LogKind]int{LogSegmentRequest: 21, LogOpen: 44, LogHTTPError: 6, LogReconnect: 6}},
		{"5.1/truncated-segment.stderr.log", map[LogKind]int{LogSegmentRequest: 21, LogOpen: 43, LogTruncated: 5}},
		{"5.1/origin-down.stderr.log", map[LogKind]int{LogSegmentRequest: 6, LogOpen: 9, LogConnectFailed: 2, LogPlaylistFailed: 2}},
		{"5.1/origin-stalled.stderr.log", map[LogKind]int{LogSegmentRequest: 6, LogOpen: 9, LogTimeout: 1, LogPlaylistFailed: 2}},
		{"5.1/origin-refused.stderr.log", map[LogKind]int{LogConnectFailed: 3, LogReconnect: 2}},
		{"6.1/session.stderr.log", map[LogKind]int{LogSegmentRequest: 6, LogOpen: 9, LogHTTPError: 4, LogReconnect: 1,
			LogSegmentFailed: 2, LogPlaylistFailed: 3, LogConnectFailed: 1, LogTimeout: 1, LogTruncated: 1}},
		{"7.1/live.stderr.log", map[LogKind]int{LogSegmentRequest: 21, LogOpen: 38}},
		{"7.1/live-debug.stderr.log", map[LogKind]int{LogSegmentRequest: 22, LogOpen: 41}},
		{"7.1/segment-404-retried.stderr.log", map[LogKind]int{LogSegmentRequest: 21, LogOpen: 44, LogHTTPError: 6, LogReconnect: 6}},
		{"7.1/segment-404.stderr.log", map[LogKind]int{LogSegmentRequest: 22, LogOpen: 46, LogHTTPError: 8, LogReconnect: 4, LogSegmentFailed: 4}},
		{"7.1/segment-500.stderr.log", map[LogKind]int{LogSegmentRequest: 22, LogOpen: 46, LogHTTPError: 7, LogReconnect: 7}},
		{"7.1/truncated-segment.stderr.log", map[LogKind]int{LogSegmentRequest: 21, LogOpen: 43, LogTruncated: 5}},
		{"7.1/origin-down.stderr.log", map[LogKind]int{LogSegmentRequest: 6, LogOpen: 9, LogConnectFailed: 2, LogPlaylistFailed: 2}},
		{"7.1/origin-stalled.stderr.log", map[LogKind]int{LogSegmentRequest: 6, LogOpen: 8, LogTimeout: 1, LogPlaylistFailed: 2}},
		{"7.1/origin-refused.stderr.log", map[LogKind]int{LogConnectFailed: 3, LogReconnect: 2}},
		{"9.0/live.stderr.log", map[LogKind]int{LogSegmentRequest: 20, LogOpen: 34}},
		{"9.0/live-debug.stderr.log", map[LogKind]int{LogSegmentRequest: 21, LogOpen: 38}},
		{"9.0/segment-404-retried.stderr.log", map[LogKind]int{LogSegmentRequest: 21, LogOpen: 43, LogHTTPError: 6, LogReconnect: 6}},
		{"9.0/segment-404.stderr.log", map[LogKind]int{LogSegmentRequest: 30, LogOpen: 49, LogHTTPError: 18, LogReconnect: 4, LogSegmentFailed: 14}},
		{"9.0/segment-500.stderr.log", map[LogKind]int{LogSegmentRequest: 20, LogOpen: 42, LogHTTPError: 6, LogReconnect: 6}},
		{"9.0/truncated-segment.stderr.log", map[LogKind]int{LogSegmentRequest: 21, LogOpen: 37, LogTruncated: 5}},
		{"9.0/origin-down.stderr.log", map[LogKind]int{LogSegmentRequest: 4, LogOpen: 5, LogConnectFailed: 2, LogPlaylistFailed: 2}},
		{"9.0/origin-stalled.stderr.log", map[LogKind]int{LogSegmentRequest: 3, LogOpen: 4, LogTimeout: 4, LogPlaylistFailed: 2}},
		{"9.0/origin-refused.stderr.log", map[LogKind]int{LogConnectFailed: 3, LogReconnect: 2}},
		{"8.0/session.stderr.log", map[LogKind]int{LogSegmentRequest: 6, LogOpen: 9, LogHTTPError: 4, LogReconnect: 3,
			LogSegmentFailed: 2, LogPlaylistFailed: 3, LogConnectFailed: 1, LogTimeout: 1, LogTruncated: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got := map[LogKind]int{}
			forLines(t, "testdata/"+tt.file, func(line string) { got[ParseLogLine(line).Kind]++ })
			for k, n := range tt.want {
				if got[k] != n {
					t.Errorf("%s: %d lines, want %d", k, got[k], n)
				}
			}
			for k, n := range got {
				if _, ok := tt.want[k]; !ok && k != LogOther && k != LogOpen {
					t.Errorf("unexpected %d %s lines", n, k)
				}
			}
		})
	}
}

func forLines(t *testing.T, path string, fn func(string)) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fn(sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}

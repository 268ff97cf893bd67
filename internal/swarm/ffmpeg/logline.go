package ffmpeg

import (
	"strconv"
	"strings"
)

// LogKind classifies an FFmpeg log line.
type LogKind int

// What a log line can say. Only messages that every supported FFmpeg version (5.1–8.x) prints
// with the same wording are recognised; testdata/README.md says where each comes from.
const (
	LogOther          LogKind = iota
	LogSegmentRequest         // hls.c: "HLS request for url '%s', offset %d, playlist %d" (verbose)
	LogOpen                   // "Opening '%s' for reading" (http.c keep-alive reuse, io_open_default) (info)
	LogHTTPError              // http.c: "HTTP error %d %s" (warning)
	LogSegmentFailed          // hls.c: "Failed to open segment …" (warning)
	LogPlaylistFailed         // hls.c: "Failed to reload playlist %d" (warning)
	LogReconnect              // http.c: "Will reconnect at %d in %d second(s)…"; hls.c: "keepalive request failed … retrying with new connection"
	LogTimeout                // an errno ETIMEDOUT text ("Connection timed out") in any message
	LogConnectFailed          // network.c/tcp.c: "Connection to %s failed: %s"
	LogTruncated              // http.c: "Stream ends prematurely at %d, should be %d"
)

var logKindNames = [...]string{"other", "segment_request", "open", "http_error", "segment_failed",
	"playlist_failed", "reconnect", "timeout", "connect_failed", "truncated"}

func (k LogKind) String() string {
	if int(k) < len(logKindNames) {
		return logKindNames[k]
	}
	return "unknown"
}

// LogEntry is one parsed line of FFmpeg's stderr (run with -loglevel level+…).
type LogEntry struct {
	Kind      LogKind
	Component string // "hls", "http", "tcp", … ("" for lines without a context)
	Level     string // "verbose", "warning", … ("" when the line has no [level] tag)
	URL       string // LogSegmentRequest, LogOpen
	Status    int    // LogHTTPError
	Message   string // the text after the prefixes
}

// quoted returns the text between the first "'" of s and the last "'" before suffix, e.g.
// the URL of "HLS request for url '…', offset 0, playlist 0" (URLs may contain "'").
func quoted(s, suffix string) (string, bool) {
	start := strings.IndexByte(s, '\'')
	end := strings.LastIndex(s, "'"+suffix)
	if start < 0 || end <= start {
		return "", false
	}
	return s[start+1 : end], true
}

// ParseLogLine classifies one line such as
// "[hls @ 0x55d0c5c8a100] [verbose] HLS request for url 'http://…/live6.ts', offset 0, playlist 0".
func ParseLogLine(line string) LogEntry {
	e := LogEntry{}
	rest := strings.TrimRight(line, "\r\n")
	// "[component @ 0xADDR] " — FFmpeg 7+ may also name ffmpeg-CLI contexts "[in#0/hls @ …]".
	if strings.HasPrefix(rest, "[") {
		if end := strings.Index(rest, "] "); end > 0 {
			if comp, _, ok := strings.Cut(rest[1:end], " @ "); ok {
				e.Component = comp
				rest = rest[end+2:]
			}
		}
	}
	// "[level] "
	if strings.HasPrefix(rest, "[") {
		if end := strings.Index(rest, "] "); end > 0 && isLevel(rest[1:end]) {
			e.Level = rest[1:end]
			rest = rest[end+2:]
		}
	}
	e.Message = rest
	switch {
	case strings.HasPrefix(rest, "HLS request for url '"):
		if u, ok := quoted(rest, ", offset "); ok {
			e.Kind, e.URL = LogSegmentRequest, u
		}
	case strings.HasPrefix(rest, "Opening '"):
		if u, ok := quoted(rest, " for reading"); ok {
			e.Kind, e.URL = LogOpen, u
		}
	case strings.HasPrefix(rest, "HTTP error "):
		code := strings.TrimPrefix(rest, "HTTP error ")
		if len(code) >= 3 && (len(code) == 3 || code[3] == ' ') {
			if n, err := strconv.Atoi(code[:3]); err == nil && n >= 100 && n <= 999 {
				e.Kind, e.Status = LogHTTPError, n
			}
		}
	case strings.Contains(rest, "timed out"):
		e.Kind = LogTimeout
	case strings.HasPrefix(rest, "Failed to open segment"):
		e.Kind = LogSegmentFailed
	case strings.HasPrefix(rest, "Failed to reload playlist"):
		e.Kind = LogPlaylistFailed
	case strings.HasPrefix(rest, "Will reconnect at "),
		strings.HasPrefix(rest, "keepalive request failed for ") && strings.Contains(rest, "retrying with new connection"):
		e.Kind = LogReconnect
	case strings.HasPrefix(rest, "Connection to ") && strings.Contains(rest, " failed"):
		e.Kind = LogConnectFailed
	case strings.HasPrefix(rest, "Stream ends prematurely"):
		e.Kind = LogTruncated
	}
	return e
}

func isLevel(s string) bool {
	switch s {
	case "quiet", "panic", "fatal", "error", "warning", "info", "verbose", "debug", "trace":
		return true
	}
	return false
}

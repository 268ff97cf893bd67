package ffmpeg

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Variants a client can play: every rendition, the first video+audio, or the rendition with
// the highest or lowest BANDWIDTH in the master playlist.
const (
	VariantAll     = "all"
	VariantFirst   = "first"
	VariantHighest = "highest"
	VariantLowest  = "lowest"
)

// DefaultLogLevel is the FFmpeg log level clients run at: verbose is the lowest level at which
// every supported version logs each segment request ("HLS request for url …"); HTTP errors,
// failed segments and reconnects are warnings, and keep-alive playlist reloads are info.
const DefaultLogLevel = "verbose"

// ProgressFD is the child's file descriptor that carries -progress output (cmd.ExtraFiles[0]).
const ProgressFD = 3

// ClientOptions describe one client; the same for every client of a swarm.
type ClientOptions struct {
	// URL is the playlist the client opens: for highest/lowest, the variant's media playlist
	// (see ResolveVariant); otherwise what the user gave.
	URL     string
	Variant string // all|first|highest|lowest (highest/lowest map like all: URL is one variant)
	// Timeout bounds each network read/write (-rw_timeout); 0 leaves FFmpeg's default.
	Timeout time.Duration
	// Reconnect turns on the http protocol's reconnect options where this FFmpeg has them.
	Reconnect         bool
	ReconnectDelayMax time.Duration
	// SegmentRetries is -seg_max_retry (FFmpeg 6.0+; older versions skip a failed segment).
	SegmentRetries int
	UserAgent      string
	Headers        []string // "Name: value"
	LogLevel       string   // default DefaultLogLevel
	// HTTPProxy is the client's metering proxy (internal/swarm/meter), passed as -http_proxy:
	// FFmpeg then sends every playlist and segment request to it as an absolute-URI GET.
	HTTPProxy string
	// CAFile is the metering proxy's run CA (https URLs): FFmpeg verifies the playlist's TLS
	// against it (-ca_file, -tls_verify 1).
	CAFile string
}

// Args returns the full argv (argv[0] is the FFmpeg path) for one client on this FFmpeg.
// Output is MPEG-TS to /dev/null rather than the null muxer so that -progress reports
// total_size: the bytes remuxed, which for TS origins is the media payload downloaded.
func (c Capabilities) Args(o ClientOptions) ([]string, error) {
	if o.URL == "" {
		return nil, fmt.Errorf("client URL is empty")
	}
	level := o.LogLevel
	if level == "" {
		level = DefaultLogLevel
	}
	if strings.ContainsAny(level, "+-") {
		return nil, fmt.Errorf("FFmpeg log level %q: give a plain level (quiet, error, warning, info, verbose, debug, trace)", level)
	}
	args := []string{c.Path,
		"-nostdin", "-hide_banner", "-nostats",
		// "level" prefixes every line with [level]; FFmpeg 5.1 has no "datetime" flag, and we
		// time lines on arrival anyway.
		"-loglevel", "level+" + level,
		"-progress", "pipe:" + strconv.Itoa(ProgressFD),
	}
	if c.Version.AtLeast(4, 4) {
		// One progress block a second instead of two: half the wake-ups in the swarm, and
		// speed is a since-start average anyway (-stats_period exists since FFmpeg 4.4).
		args = append(args, "-stats_period", "1")
	}
	if o.UserAgent != "" {
		args = append(args, "-user_agent", o.UserAgent)
	}
	if len(o.Headers) > 0 {
		var b strings.Builder
		for _, h := range o.Headers {
			name, value, err := SplitHeader(h)
			if err != nil {
				return nil, err
			}
			b.WriteString(name + ": " + value + "\r\n")
		}
		args = append(args, "-headers", b.String())
	}
	if o.Timeout > 0 {
		args = append(args, "-rw_timeout", strconv.FormatInt(o.Timeout.Microseconds(), 10))
	}
	if o.Reconnect {
		for _, name := range []string{"reconnect", "reconnect_streamed", "reconnect_on_network_error"} {
			if c.HTTP(name) {
				args = append(args, "-"+name, "1")
			}
		}
		if c.HTTP("reconnect_delay_max") && o.ReconnectDelayMax > 0 {
			secs := int((o.ReconnectDelayMax + time.Second - 1) / time.Second)
			args = append(args, "-reconnect_delay_max", strconv.Itoa(secs))
		}
	}
	if o.HTTPProxy != "" {
		if !c.HTTP("http_proxy") {
			return nil, fmt.Errorf("ffmpeg at %q (%s) has no http_proxy option: the swarm measures clients through it; use FFmpeg 4.0 or newer", c.Path, c.Version)
		}
		args = append(args, "-http_proxy", o.HTTPProxy)
	}
	if o.CAFile != "" {
		args = append(args, "-ca_file", o.CAFile, "-tls_verify", "1")
	}
	if o.SegmentRetries > 0 && c.HLS("seg_max_retry") {
		args = append(args, "-seg_max_retry", strconv.Itoa(o.SegmentRetries))
	}
	args = append(args, "-i", o.URL)
	switch o.Variant {
	case "", VariantAll, VariantHighest, VariantLowest:
		args = append(args, "-map", "0:v?", "-map", "0:a?")
	case VariantFirst:
		args = append(args, "-map", "0:v:0?", "-map", "0:a:0?")
	default:
		return nil, fmt.Errorf("variant %q: valid variants are all, first, highest, lowest", o.Variant)
	}
	args = append(args, "-c", "copy", "-f", "mpegts", "-y", "/dev/null")
	return args, nil
}

// SplitHeader splits "Name: value" into its trimmed parts.
func SplitHeader(h string) (name, value string, err error) {
	name, value, ok := strings.Cut(h, ":")
	name, value = strings.TrimSpace(name), strings.TrimSpace(value)
	if !ok || name == "" || strings.ContainsAny(h, "\r\n") || strings.ContainsAny(name, " \t") {
		return "", "", fmt.Errorf("header %q: want \"Name: value\" on one line", h)
	}
	return name, value, nil
}

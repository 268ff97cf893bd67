package ffmpeg

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"time"
)

// Capabilities is what one FFmpeg binary supports, as far as building a client's argv needs.
type Capabilities struct {
	Path    string
	Version Version
	// HLSOptions and HTTPOptions are the option names listed by `-h demuxer=hls` and
	// `-h protocol=http` (without the leading dash).
	HLSOptions  map[string]bool
	HTTPOptions map[string]bool
	// InputProtocols are the protocols `-protocols` lists for input ("http", "https", …).
	InputProtocols map[string]bool
}

// HLS reports whether the hls demuxer has the named option (e.g. "seg_max_retry", 6.0+).
func (c Capabilities) HLS(name string) bool { return c.HLSOptions[name] }

// HTTP reports whether the http protocol has the named option (e.g. "reconnect_delay_max").
func (c Capabilities) HTTP(name string) bool { return c.HTTPOptions[name] }

// Detect runs the FFmpeg at path four times (-version, -h demuxer=hls, -h protocol=http, -protocols)
// and records what it supports.
func Detect(ctx context.Context, path string) (Capabilities, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		cmd := exec.CommandContext(ctx, path, args...)
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("run %s %s: %w (output: %.200q)", path, strings.Join(args, " "), err, out.String())
		}
		return out.String(), nil
	}
	vout, err := run("-hide_banner", "-version")
	if err != nil {
		return Capabilities{}, err
	}
	v, err := ParseVersion(vout)
	if err != nil {
		return Capabilities{}, fmt.Errorf("%s: %w", path, err)
	}
	hls, err := run("-hide_banner", "-h", "demuxer=hls")
	if err != nil {
		return Capabilities{}, err
	}
	if !strings.Contains(hls, "Demuxer hls") {
		return Capabilities{}, fmt.Errorf("%s %s has no hls demuxer: use an FFmpeg built with HLS support", path, v)
	}
	http, err := run("-hide_banner", "-h", "protocol=http")
	if err != nil {
		return Capabilities{}, err
	}
	protos, err := run("-hide_banner", "-protocols")
	if err != nil {
		return Capabilities{}, err
	}
	return Capabilities{Path: path, Version: v, HLSOptions: ParseOptions(hls, "hls demuxer AVOptions:"),
		HTTPOptions: ParseOptions(http, "http AVOptions:"), InputProtocols: ParseInputProtocols(protos)}, nil
}

// ParseInputProtocols lists the input protocols of `ffmpeg -protocols`.
func ParseInputProtocols(out string) map[string]bool {
	protos := map[string]bool{}
	in := false
	for _, line := range strings.Split(out, "\n") {
		switch strings.TrimSpace(line) {
		case "Input:":
			in = true
			continue
		case "Output:":
			in = false
			continue
		}
		if in && strings.HasPrefix(line, "  ") {
			protos[strings.TrimSpace(line)] = true
		}
	}
	return protos
}

// CanOpen reports whether this FFmpeg can read URLs of the scheme ("http", "https").
func (c Capabilities) CanOpen(scheme string) bool { return c.InputProtocols[scheme] }

var optionLine = regexp.MustCompile(`^  -(\w+)\s+<`)

// ParseOptions lists the option names in the AVOptions section that starts with header
// (e.g. "hls demuxer AVOptions:") of an `ffmpeg -h …` listing; with an empty header, every
// section's options count.
func ParseOptions(help, header string) map[string]bool {
	opts := map[string]bool{}
	in := header == ""
	for _, line := range strings.Split(help, "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.HasSuffix(line, "AVOptions:") {
			in = header == "" || line == header
			continue
		}
		if m := optionLine.FindStringSubmatch(line); m != nil && in {
			opts[m[1]] = true
		}
	}
	return opts
}

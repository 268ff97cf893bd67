// Package profiles loads and validates the origin and swarm-client profiles embedded from
// the top-level profiles/ directory, the single source of truth that Nix reads too.
package profiles

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"time"

	data "github.com/randomizedcoder/go-ffmpeg-hls-swarm/profiles"
)

// Rendition is one rung of an origin's video ladder.
type Rendition struct {
	Name     string `json:"name"`
	Width    int    `json:"width"`
	Height   int    `json:"height"`
	BitrateK int    `json:"bitrateK"`
	MinrateK int    `json:"minrateK,omitempty"`
	MaxrateK int    `json:"maxrateK"`
	BufsizeK int    `json:"bufsizeK"`
}

// Audio is the origin's sine test tone, encoded as AAC.
type Audio struct {
	BitrateK    int `json:"bitrateK"`
	SampleRate  int `json:"sampleRate"`
	FrequencyHz int `json:"frequencyHz"`
}

// Nginx holds the per-profile nginx settings.
type Nginx struct {
	// AccessLog is "off", "buffered" (buffer=… flush=…) or "gzip" (buffered and gzip'd).
	AccessLog          string `json:"accessLog"`
	AccessLogBuffer    string `json:"accessLogBuffer,omitempty"`
	AccessLogFlush     string `json:"accessLogFlush,omitempty"`
	ErrorLogLevel      string `json:"errorLogLevel"`
	WorkerConnections  int    `json:"workerConnections"`
	TuneMaxConnections bool   `json:"tuneMaxConnections,omitempty"`
}

// Origin is a test-origin profile: FFmpeg live encoder settings plus nginx settings.
type Origin struct {
	Name           string      `json:"name"`
	Description    string      `json:"description"`
	SegmentSeconds int         `json:"segmentSeconds"`
	ListSize       int         `json:"listSize"`
	FPS            int         `json:"fps"`
	Preset         string      `json:"preset"`
	Tune           string      `json:"tune,omitempty"`
	Video          []Rendition `json:"video"`
	Audio          Audio       `json:"audio"`
	FFmpegLogLevel string      `json:"ffmpegLogLevel"`
	Nginx          Nginx       `json:"nginx"`
	// Network is "user" or "tap" (how a MicroVM of this profile is networked).
	Network      string `json:"network"`
	RealtimeNote string `json:"realtimeNote,omitempty"`
}

// Duration is a time.Duration that reads from a JSON string such as "100ms".
type Duration time.Duration

// UnmarshalJSON parses a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"5s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// Swarm is a swarm-client profile: how many clients, how fast, how they recover.
type Swarm struct {
	Name              string   `json:"name"`
	Description       string   `json:"description"`
	Clients           int      `json:"clients"`
	RampRate          float64  `json:"rampRate"`
	RampJitter        Duration `json:"rampJitter"`
	Variant           string   `json:"variant"`
	Reconnect         bool     `json:"reconnect"`
	ReconnectDelayMax Duration `json:"reconnectDelayMax"`
	SegmentRetries    int      `json:"segmentRetries"`
	Timeout           Duration `json:"timeout"`
	LogLevel          string   `json:"logLevel"`
}

// Set is every profile, as loaded and validated.
type Set struct {
	Origins []Origin
	Swarms  []Swarm
}

// Load reads and validates the embedded profiles.
func Load() (*Set, error) { return LoadFS(data.FS) }

// LoadFS reads origin.json and swarm.json from fsys and validates them.
func LoadFS(fsys fs.FS) (*Set, error) {
	var o struct {
		Profiles []Origin `json:"profiles"`
	}
	var s struct {
		Profiles []Swarm `json:"profiles"`
	}
	if err := decode(fsys, "origin.json", &o); err != nil {
		return nil, err
	}
	if err := decode(fsys, "swarm.json", &s); err != nil {
		return nil, err
	}
	set := &Set{Origins: o.Profiles, Swarms: s.Profiles}
	if err := set.Validate(); err != nil {
		return nil, err
	}
	return set, nil
}

func decode(fsys fs.FS, name string, v any) error {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return fmt.Errorf("read profiles/%s: %w", name, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("parse profiles/%s: %w", name, err)
	}
	return nil
}

// OriginNames lists the origin profile names in file order.
func (s *Set) OriginNames() []string {
	names := make([]string, len(s.Origins))
	for i, p := range s.Origins {
		names[i] = p.Name
	}
	return names
}

// SwarmNames lists the swarm-client profile names in file order.
func (s *Set) SwarmNames() []string {
	names := make([]string, len(s.Swarms))
	for i, p := range s.Swarms {
		names[i] = p.Name
	}
	return names
}

// Origin returns the named origin profile, or an error that lists the valid names.
func (s *Set) Origin(name string) (Origin, error) {
	for _, p := range s.Origins {
		if p.Name == name {
			return p, nil
		}
	}
	return Origin{}, unknown("origin", name, s.OriginNames())
}

// Swarm returns the named swarm-client profile, or an error that lists the valid names.
func (s *Set) Swarm(name string) (Swarm, error) {
	for _, p := range s.Swarms {
		if p.Name == name {
			return p, nil
		}
	}
	return Swarm{}, unknown("swarm-client", name, s.SwarmNames())
}

func unknown(kind, name string, valid []string) error {
	return fmt.Errorf("unknown %s profile %q: valid profiles are %s", kind, name, strings.Join(valid, ", "))
}

// Validate checks every profile and returns the first problem found.
func (s *Set) Validate() error {
	if len(s.Origins) == 0 || len(s.Swarms) == 0 {
		return fmt.Errorf("profiles: need at least one origin and one swarm-client profile")
	}
	if err := uniqueNames("origin", s.OriginNames()); err != nil {
		return err
	}
	if err := uniqueNames("swarm-client", s.SwarmNames()); err != nil {
		return err
	}
	for _, p := range s.Origins {
		if err := p.Validate(); err != nil {
			return fmt.Errorf("origin profile %q: %w", p.Name, err)
		}
	}
	for _, p := range s.Swarms {
		if err := p.Validate(); err != nil {
			return fmt.Errorf("swarm-client profile %q: %w", p.Name, err)
		}
	}
	return nil
}

func uniqueNames(kind string, names []string) error {
	seen := map[string]bool{}
	for _, n := range names {
		if n == "" {
			return fmt.Errorf("a %s profile has no name", kind)
		}
		if seen[n] {
			return fmt.Errorf("two %s profiles are named %q", kind, n)
		}
		seen[n] = true
	}
	return nil
}

var (
	accessLogs = []string{"off", "buffered", "gzip"}
	networks   = []string{"user", "tap"}
	variants   = []string{"all", "first", "highest", "lowest"}
	logLevels  = []string{"quiet", "panic", "fatal", "error", "warning", "info", "verbose", "debug", "trace"}
)

func oneOf(field, v string, valid []string) error {
	for _, x := range valid {
		if v == x {
			return nil
		}
	}
	return fmt.Errorf("%s %q is not one of %s", field, v, strings.Join(valid, ", "))
}

// Validate checks an origin profile's fields.
func (p Origin) Validate() error {
	switch {
	case p.Description == "":
		return fmt.Errorf("description is empty")
	case p.SegmentSeconds < 1:
		return fmt.Errorf("segmentSeconds %d is below 1", p.SegmentSeconds)
	case p.ListSize < 3:
		return fmt.Errorf("listSize %d is below 3", p.ListSize)
	case p.FPS < 1 || p.FPS > 120:
		return fmt.Errorf("fps %d is outside 1..120", p.FPS)
	case p.Preset == "":
		return fmt.Errorf("preset is empty")
	case len(p.Video) == 0:
		return fmt.Errorf("no video renditions")
	case p.Audio.BitrateK <= 0 || p.Audio.SampleRate <= 0 || p.Audio.FrequencyHz <= 0:
		return fmt.Errorf("audio needs bitrateK, sampleRate and frequencyHz above 0")
	case p.Nginx.WorkerConnections < 1:
		return fmt.Errorf("nginx.workerConnections must be at least 1")
	}
	if err := oneOf("nginx.accessLog", p.Nginx.AccessLog, accessLogs); err != nil {
		return err
	}
	if err := oneOf("network", p.Network, networks); err != nil {
		return err
	}
	if err := oneOf("ffmpegLogLevel", p.FFmpegLogLevel, logLevels); err != nil {
		return err
	}
	names := map[string]bool{}
	for _, r := range p.Video {
		if r.Name == "" || names[r.Name] {
			return fmt.Errorf("rendition names must be unique and non-empty (%q)", r.Name)
		}
		names[r.Name] = true
		if r.Width <= 0 || r.Height <= 0 || r.Width%2 != 0 || r.Height%2 != 0 {
			return fmt.Errorf("rendition %s: %dx%d must be positive and even", r.Name, r.Width, r.Height)
		}
		if r.BitrateK <= 0 || r.BufsizeK <= 0 {
			return fmt.Errorf("rendition %s: bitrateK and bufsizeK must be above 0", r.Name)
		}
		if r.MinrateK > r.BitrateK || r.BitrateK > r.MaxrateK {
			return fmt.Errorf("rendition %s: need minrate %dk <= bitrate %dk <= maxrate %dk", r.Name, r.MinrateK, r.BitrateK, r.MaxrateK)
		}
	}
	// Renditions go from the highest to the lowest bitrate, so "first" is the top rung.
	if !sort.SliceIsSorted(p.Video, func(i, j int) bool { return p.Video[i].BitrateK > p.Video[j].BitrateK }) {
		return fmt.Errorf("video renditions must be ordered from highest to lowest bitrate")
	}
	return nil
}

// Validate checks a swarm-client profile's fields.
func (p Swarm) Validate() error {
	switch {
	case p.Description == "":
		return fmt.Errorf("description is empty")
	case p.Clients < 1:
		return fmt.Errorf("clients %d is below 1", p.Clients)
	case p.RampRate <= 0:
		return fmt.Errorf("rampRate %g must be above 0", p.RampRate)
	case p.RampJitter < 0 || p.ReconnectDelayMax < 0:
		return fmt.Errorf("rampJitter and reconnectDelayMax must not be negative")
	case p.SegmentRetries < 0:
		return fmt.Errorf("segmentRetries %d is negative", p.SegmentRetries)
	case p.Timeout <= 0:
		return fmt.Errorf("timeout must be above 0")
	}
	if err := oneOf("variant", p.Variant, variants); err != nil {
		return err
	}
	return oneOf("logLevel", p.LogLevel, logLevels)
}

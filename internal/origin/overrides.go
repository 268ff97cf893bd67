package origin

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/profiles"
)

// Overrides shrink a profile for small machines and tests. Zero fields keep the profile's value;
// any other value replaces it and must be valid for the profile (a negative --fps is an error,
// not "keep the default").
type Overrides struct {
	// Width and Height replace the top rendition's size; lower rungs of a ladder scale by the
	// same factor (rounded to even numbers, at least 16 pixels), and a rung named after its
	// height (720p) is renamed after its new height (360p). Bitrates stay as profiled.
	Width, Height int
	// FPS replaces the frame rate (the GOP stays one segment long).
	FPS int
	// SegmentSeconds and ListSize replace the HLS segment duration and playlist length.
	SegmentSeconds, ListSize int
}

// Apply returns p with the overrides applied, validated.
func (o Overrides) Apply(p profiles.Origin) (profiles.Origin, error) {
	video := append([]profiles.Rendition(nil), p.Video...)
	if (o.Width == 0) != (o.Height == 0) {
		return p, fmt.Errorf("resolution override needs both width and height, got %dx%d", o.Width, o.Height)
	}
	if o.Width > 0 && len(video) > 0 {
		top := video[0]
		for i, r := range video {
			video[i].Width = scaleEven(r.Width, o.Width, top.Width)
			video[i].Height = scaleEven(r.Height, o.Height, top.Height)
			if heightName.MatchString(r.Name) {
				video[i].Name = strconv.Itoa(video[i].Height) + "p"
			}
		}
	}
	p.Video = video
	if o.FPS != 0 {
		p.FPS = o.FPS
	}
	if o.SegmentSeconds != 0 {
		p.SegmentSeconds = o.SegmentSeconds
	}
	if o.ListSize != 0 {
		p.ListSize = o.ListSize
	}
	// The profile's validator is the one for these settings: its limits are the flags' limits.
	if err := p.Validate(); err != nil {
		return p, fmt.Errorf("profile %s with the --size/--fps/--segment-seconds given: %w (0 keeps the profile's value)", p.Name, err)
	}
	return p, nil
}

// heightName matches a rendition named after its height, such as 720p or 2160p.
var heightName = regexp.MustCompile(`^[0-9]+p$`)

func scaleEven(v, num, den int) int {
	s := (v*num/den + 1) &^ 1
	if s < 16 {
		s = 16
	}
	return s
}

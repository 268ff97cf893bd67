package origin

import (
	"fmt"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/profiles"
)

// Overrides shrink a profile for small machines and tests. Zero fields keep the profile's value.
type Overrides struct {
	// Width and Height replace the top rendition's size; lower rungs of a ladder scale by the
	// same factor (rounded to even numbers, at least 16 pixels). Bitrates stay as profiled.
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
		}
	}
	p.Video = video
	if o.FPS > 0 {
		p.FPS = o.FPS
	}
	if o.SegmentSeconds > 0 {
		p.SegmentSeconds = o.SegmentSeconds
	}
	if o.ListSize > 0 {
		p.ListSize = o.ListSize
	}
	if err := p.Validate(); err != nil {
		return p, fmt.Errorf("profile %s with overrides: %w", p.Name, err)
	}
	return p, nil
}

func scaleEven(v, num, den int) int {
	s := (v*num/den + 1) &^ 1
	if s < 16 {
		s = 16
	}
	return s
}

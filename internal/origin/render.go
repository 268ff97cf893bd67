package origin

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/origin/ffmpegargs"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/origin/nginxconf"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/shellquote"
)

// Rendered is the origin's configuration as text: what `origin render` prints.
type Rendered struct {
	Profile       string   `json:"profile"`
	FFmpegVersion string   `json:"ffmpegVersion"`
	FFmpeg        []string `json:"ffmpeg"` // argv, program first
	Nginx         []string `json:"nginx"`  // argv, program first
	NginxConf     string   `json:"nginxConf"`
	NginxConfPath string   `json:"nginxConfPath"`
	Dir           string   `json:"dir"`
	Playlist      string   `json:"playlist"`
	// MediaPlaylists are rewritten every segment; for a ladder Playlist is the master.
	MediaPlaylists []string          `json:"mediaPlaylists"`
	Renditions     []string          `json:"renditions"`
	CacheControl   map[string]string `json:"cacheControl"`
}

// Render renders the plan for an HLS directory dir and an nginx prefix (both as they would be
// on the machine that runs it; nothing is created).
func Render(p *Plan, dir, prefix string) (Rendered, error) {
	nc := p.NginxConfig(prefix, dir, filepath.Join(prefix, "health.sock"))
	conf, err := nginxconf.Render(nc)
	if err != nil {
		return Rendered{}, err
	}
	confPath := filepath.Join(prefix, "nginx.conf")
	r := Rendered{
		Profile:        p.Profile.Name,
		FFmpegVersion:  p.Caps.Version,
		FFmpeg:         append([]string{p.FFmpegPath}, p.FFmpegArgs(dir)...),
		Nginx:          append([]string{p.NginxPath}, nginxArgs(prefix, confPath)...),
		NginxConf:      conf,
		NginxConfPath:  confPath,
		Dir:            dir,
		Playlist:       ffmpegargs.Playlist,
		MediaPlaylists: ffmpegargs.MediaPlaylists(p.Profile),
		CacheControl: map[string]string{
			"segment":       nginxconf.SegmentCacheControl,
			"mediaPlaylist": nginxconf.MediaCacheControl(p.Profile.SegmentSeconds),
			"health":        nginxconf.HealthCacheControl,
		},
	}
	if ffmpegargs.IsLadder(p.Profile) {
		r.CacheControl["masterPlaylist"] = nginxconf.MasterCacheControl
	}
	for _, v := range p.Profile.Video {
		r.Renditions = append(r.Renditions, fmt.Sprintf("%s %dx%d@%d %dk (max %dk, buf %dk)", v.Name, v.Width, v.Height, p.Profile.FPS, v.BitrateK, v.MaxrateK, v.BufsizeK))
	}
	return r, nil
}

// Text is the rendering for people: a shell-quoted FFmpeg command, one option per line, and
// the nginx.conf.
func (r Rendered) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# go-ffmpeg-hls-swarm origin, profile %s (FFmpeg %s)\n", r.Profile, r.FFmpegVersion)
	fmt.Fprintf(&b, "# playlist %s; media playlists: %s\n", r.Playlist, strings.Join(r.MediaPlaylists, ", "))
	fmt.Fprintf(&b, "# renditions: %s\n", strings.Join(r.Renditions, "; "))
	b.WriteString("\n## FFmpeg\n")
	b.WriteString(shellLines(r.FFmpeg))
	b.WriteString("\n## nginx\n")
	b.WriteString(shellLines(r.Nginx))
	fmt.Fprintf(&b, "\n## %s\n", r.NginxConfPath)
	b.WriteString(r.NginxConf)
	return b.String()
}

// shellLines prints argv as a shell command, an option and its value per line.
func shellLines(argv []string) string {
	var lines []string
	line := []string{shellquote.Word(argv[0])}
	for i := 1; i < len(argv); i++ {
		a := argv[i]
		if strings.HasPrefix(a, "-") && len(line) > 0 {
			lines = append(lines, strings.Join(line, " "))
			line = nil
		}
		line = append(line, shellquote.Word(a))
	}
	lines = append(lines, strings.Join(line, " "))
	return strings.Join(lines, " \\\n  ") + "\n"
}

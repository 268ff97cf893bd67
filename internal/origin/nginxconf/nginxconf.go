// Package nginxconf renders the nginx.conf that serves the test origin's HLS directory: a
// foreground nginx with its own prefix, pid and temp paths, tuned for many small live requests.
package nginxconf

import (
	"bytes"
	"fmt"
	"net"
	"path/filepath"
	"text/template"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/origin/ffmpegargs"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/profiles"
)

// Config is everything the rendered nginx.conf depends on.
type Config struct {
	Profile profiles.Origin
	// Prefix is nginx's -p directory: pid, temp paths and (by default) logs live below it.
	Prefix string
	// Root is the directory FFmpeg writes playlists and segments to.
	Root string
	// Listen is the address to bind ("127.0.0.1", "0.0.0.0", "::1"); Port the TCP port.
	Listen string
	Port   int
	// HealthSocket is the unix socket of the origin's /health handler.
	HealthSocket string
	// LogDir is where access logs go; empty means <Prefix>/logs.
	LogDir string
	// User is the worker user ("nobody nogroup") when nginx starts as root; empty otherwise.
	User string
}

// Segment, media-playlist and master-playlist Cache-Control values (see docs/reference/profiles.md).
const (
	SegmentCacheControl = "public, max-age=60, immutable, no-transform"
	MasterCacheControl  = "public, max-age=5, no-transform"
	HealthCacheControl  = "no-store"
)

// MediaCacheControl is the media playlists' Cache-Control: max-age half a segment (rounded
// down to whole seconds) and stale-while-revalidate one segment.
func MediaCacheControl(segmentSeconds int) string {
	return fmt.Sprintf("public, max-age=%d, stale-while-revalidate=%d, no-transform", segmentSeconds/2, segmentSeconds)
}

// AccessLogPath is the access log file of the profile, or "" when the profile logs nothing.
func (c Config) AccessLogPath() string {
	dir := c.LogDir
	if dir == "" {
		dir = filepath.Join(c.Prefix, "logs")
	}
	switch c.Profile.Nginx.AccessLog {
	case "buffered":
		return filepath.Join(dir, "access.log")
	case "gzip":
		return filepath.Join(dir, "access.log.gz")
	}
	return ""
}

// Render returns the nginx.conf text.
func Render(c Config) (string, error) {
	if c.Prefix == "" || c.Root == "" || c.Listen == "" || c.Port <= 0 || c.HealthSocket == "" {
		return "", fmt.Errorf("nginx config needs prefix, root, listen address, port and health socket")
	}
	p := c.Profile
	listen := c.Listen
	if ip := net.ParseIP(listen); ip != nil && ip.To4() == nil {
		listen = "[" + listen + "]" // IPv6 literal
	}
	m3u8Cache := "open_file_cache_valid 1s;"
	if p.SegmentSeconds < 2 {
		// nginx's smallest validity is 1 s, as long as a whole segment: don't cache the playlist fd.
		m3u8Cache = "open_file_cache off;"
	}
	data := map[string]any{
		"C":            c,
		"P":            p,
		"ListenAddr":   fmt.Sprintf("%s:%d", listen, c.Port),
		"Ladder":       ffmpegargs.IsLadder(p),
		"Playlist":     ffmpegargs.Playlist,
		"SegmentCC":    SegmentCacheControl,
		"MediaCC":      MediaCacheControl(p.SegmentSeconds),
		"MasterCC":     MasterCacheControl,
		"HealthCC":     HealthCacheControl,
		"M3U8Cache":    m3u8Cache,
		"AccessLog":    c.AccessLogPath(),
		"RlimitNofile": 2 * p.Nginx.WorkerConnections,
		"Pid":          filepath.Join(c.Prefix, "nginx.pid"),
		"Temp":         filepath.Join(c.Prefix, "temp"),
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, data); err != nil {
		return "", fmt.Errorf("render nginx.conf: %w", err)
	}
	return b.String(), nil
}

// TempDirs are the directories below Prefix that must exist before nginx starts.
func TempDirs(prefix string) []string {
	t := filepath.Join(prefix, "temp")
	return []string{filepath.Join(prefix, "logs"), t,
		filepath.Join(t, "client_body"), filepath.Join(t, "proxy"), filepath.Join(t, "fastcgi"),
		filepath.Join(t, "uwsgi"), filepath.Join(t, "scgi")}
}

var tmpl = template.Must(template.New("nginx.conf").Parse(`# nginx.conf for the go-ffmpeg-hls-swarm test origin, profile {{.P.Name}}.
# Rendered by go-ffmpeg-hls-swarm; nginx runs in the foreground as a child of the origin.
daemon off;
master_process on;
worker_processes auto;
{{- if .C.User}}
user {{.C.User}};
{{- end}}
pid {{.Pid}};
error_log stderr {{.P.Nginx.ErrorLogLevel}};
{{- if .P.Nginx.TuneMaxConnections}}
worker_rlimit_nofile {{.RlimitNofile}};
{{- end}}

events {
    worker_connections {{.P.Nginx.WorkerConnections}};
{{- if .P.Nginx.TuneMaxConnections}}
    multi_accept on;
{{- end}}
}

http {
    types {
        application/vnd.apple.mpegurl m3u8;
        video/mp2t ts;
        video/iso.segment m4s;
        video/mp4 mp4;
    }
    default_type application/octet-stream;
    charset_types application/vnd.apple.mpegurl;

    client_body_temp_path {{.Temp}}/client_body;
    proxy_temp_path {{.Temp}}/proxy;
    fastcgi_temp_path {{.Temp}}/fastcgi;
    uwsgi_temp_path {{.Temp}}/uwsgi;
    scgi_temp_path {{.Temp}}/scgi;
{{- if .AccessLog}}

    log_format origin '$remote_addr [$time_local] "$request" $status $body_bytes_sent '
                      '$request_time "$http_user_agent"';
    access_log {{.AccessLog}} origin{{if eq .P.Nginx.AccessLog "gzip"}} gzip=1{{end}} buffer={{.P.Nginx.AccessLogBuffer}} flush={{.P.Nginx.AccessLogFlush}};
{{- else}}
    access_log off;
{{- end}}

    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    sendfile_max_chunk 512k;
    keepalive_timeout 30s;
    keepalive_requests 10000;
    server_tokens off;
    log_not_found off;
    client_max_body_size 1k;

    open_file_cache max=10000 inactive=30s;
    open_file_cache_valid 30s;
    open_file_cache_min_uses 1;
    open_file_cache_errors off;

    server {
        listen {{.ListenAddr}}{{if .P.Nginx.TuneMaxConnections}} reuseport backlog=4096{{end}};
        root {{.C.Root}};

        # Only GET, HEAD and OPTIONS.
        if ($request_method !~ ^(GET|HEAD|OPTIONS)$) {
            return 405;
        }
        error_page 405 = @method_not_allowed;
        location @method_not_allowed {
            add_header Allow "GET, HEAD, OPTIONS" always;
            return 405;
        }

        location = /health {
            proxy_pass http://unix:{{.C.HealthSocket}}:/health;
            proxy_connect_timeout 1s;
            proxy_read_timeout 2s;
            proxy_hide_header Cache-Control;
            add_header Cache-Control "{{.HealthCC}}" always;
        }

        location = /nginx_status {
            stub_status;
            allow 127.0.0.1;
            allow ::1;
            deny all;
            add_header Cache-Control "{{.HealthCC}}" always;
        }
{{- if .Ladder}}

        location = /{{.Playlist}} {
            {{.M3U8Cache}}
            {{- template "cors"}}
            add_header Cache-Control "{{.MasterCC}}" always;
            if ($request_method = OPTIONS) {
                return 204;
            }
        }
{{- end}}

        location ~ \.m3u8$ {
            {{.M3U8Cache}}
            {{- template "cors"}}
            add_header Cache-Control "{{.MediaCC}}" always;
            if ($request_method = OPTIONS) {
                return 204;
            }
        }

        location ~ \.(ts|m4s|mp4)$ {
            {{- template "cors"}}
            add_header Cache-Control "{{.SegmentCC}}" always;
            if ($request_method = OPTIONS) {
                return 204;
            }
        }

        location / {
            {{- template "cors"}}
            if ($request_method = OPTIONS) {
                return 204;
            }
            return 404;
        }
    }
}
{{define "cors"}}
            add_header Access-Control-Allow-Origin "*" always;
            add_header Access-Control-Allow-Methods "GET, HEAD, OPTIONS" always;
            add_header Access-Control-Allow-Headers "Range, If-None-Match, If-Modified-Since" always;
            add_header Access-Control-Expose-Headers "Content-Length, Content-Range" always;
            add_header Access-Control-Max-Age "86400" always;
{{- end}}
`))

package inspect

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// WriteText prints the report for people: per platform the config, then one line per layer
// (bottom first) with its size and the store paths it holds.
func (r *Report) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	ew.printf("%s\n", r.Target)
	if r.Index != "" {
		ew.printf("index     %s\n", r.Index)
	}
	for _, img := range r.Images {
		c := img.Config.Config
		ew.printf("\n%s  %s\n", img.Platform, img.Digest)
		ew.printf("  created     %s\n", img.Config.Created.UTC().Format("2006-01-02T15:04:05Z"))
		ew.printf("  entrypoint  %s\n", quoteList(c.Entrypoint))
		if len(c.Cmd) > 0 {
			ew.printf("  cmd         %s\n", quoteList(c.Cmd))
		}
		ew.printf("  user        %s\n", c.User)
		ew.printf("  workdir     %s\n", c.WorkingDir)
		for _, e := range c.Env {
			ew.printf("  env         %s\n", e)
		}
		ports := make([]string, 0, len(c.ExposedPorts))
		for p := range c.ExposedPorts {
			ports = append(ports, p)
		}
		sort.Strings(ports)
		if len(ports) > 0 {
			ew.printf("  ports       %s\n", strings.Join(ports, " "))
		}
		if h := c.Healthcheck; h != nil {
			ew.printf("  healthcheck %s interval=%s timeout=%s start=%s retries=%d\n",
				quoteList(h.Test), h.Interval, h.Timeout, h.StartPeriod, h.Retries)
		}
		keys := make([]string, 0, len(c.Labels))
		for k := range c.Labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ew.printf("  label       %s=%s\n", k, c.Labels[k])
		}
		var total int64
		for _, l := range img.Layers {
			total += l.Size
		}
		ew.printf("  layers      %d, %s compressed\n", len(img.Layers), human(total))
		for i, l := range img.Layers {
			ew.printf("  %3d %s %9s  %s\n", i+1, short(l.Digest), human(l.Size), contents(l))
		}
	}
	return ew.err
}

func contents(l Layer) string {
	switch {
	case len(l.StorePaths) == 1:
		return l.StorePaths[0]
	case len(l.StorePaths) > 1:
		return fmt.Sprintf("%s (+%d more store paths)", l.StorePaths[0], len(l.StorePaths)-1)
	case len(l.Other) > 0:
		top := map[string]bool{}
		var names []string
		for _, o := range l.Other {
			t := "/" + strings.SplitN(strings.TrimPrefix(o, "/"), "/", 2)[0]
			if !top[t] {
				top[t] = true
				names = append(names, t)
			}
		}
		return strings.Join(names, " ")
	}
	return ""
}

func quoteList(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = fmt.Sprintf("%q", v)
	}
	return "[" + strings.Join(q, ",") + "]"
}

func short(d string) string {
	if len(d) > 19 {
		return d[:19]
	}
	return d
}

// human formats a byte count with a binary unit.
func human(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

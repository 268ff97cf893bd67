// Package browser opens a page in Debian's headless Chromium, driven through the DevTools
// protocol (chromedp, over a pipe: no debugging port), and reports what a person's browser would
// have done with it: console errors, uncaught exceptions, every request beyond the page itself,
// the Chart.js charts it drew, and a screenshot. For tests only.
package browser

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

// Page is what the browser made of a page.
type Page struct {
	URL string
	// Errors are console.error/assert calls, uncaught exceptions and error log entries (a
	// blocked request, a Content-Security-Policy violation).
	Errors []string
	// Requests are the URLs of every request the page made besides loading itself.
	Requests []string
	// Charts are the Chart.js charts on the page (ChartJSCharts).
	Charts []Chart
	// Screenshot is the whole page as PNG.
	Screenshot []byte
}

// Chart is one Chart.js chart as drawn.
type Chart struct {
	ID       string `json:"id"`
	Datasets int    `json:"datasets"`
	// Points: data points with a value; Drawn: of those, the elements Chart.js placed at finite
	// pixel coordinates.
	Points int `json:"points"`
	Drawn  int `json:"drawn"`
	// Width, Height: the canvas in pixels. Ink: pixels inside the chart area (within the axes)
	// that are coloured (not grey, not white): the datasets' lines and bars.
	Width  int `json:"width"`
	Height int `json:"height"`
	Ink    int `json:"ink"`
}

// chartProbe lists the page's Chart.js charts (Chart.instances) with what each drew.
const chartProbe = `(() => {
  if (typeof Chart === "undefined") return [];
  return Object.values(Chart.instances).map(c => {
    let points = 0, drawn = 0;
    c.data.datasets.forEach((d, i) => {
      points += d.data.filter(p => p !== null && p.y !== null && p.y !== undefined).length;
      drawn += c.getDatasetMeta(i).data.filter(e => Number.isFinite(e.x) && Number.isFinite(e.y)).length;
    });
    const r = c.currentDevicePixelRatio || 1, a = c.chartArea;
    const x = Math.floor(a.left * r), y = Math.floor(a.top * r);
    const w = Math.max(1, Math.floor((a.right - a.left) * r)), h = Math.max(1, Math.ceil((a.bottom - a.top) * r) + 1);
    const px = c.ctx.getImageData(x, y, w, h).data;
    let ink = 0;
    for (let i = 0; i < px.length; i += 4) {
      const mx = Math.max(px[i], px[i + 1], px[i + 2]), mn = Math.min(px[i], px[i + 1], px[i + 2]);
      if (px[i + 3] > 0 && mx - mn > 60) ink++;
    }
    return {id: c.canvas.id, datasets: c.data.datasets.length, points, drawn,
      width: c.canvas.width, height: c.canvas.height, ink};
  });
})()`

// Flags are the Chromium command-line flags: headless, no sandbox (root), no GPU, and nothing
// that reaches the network on its own (background networking, component updates, sync).
var Flags = []chromedp.ExecAllocatorOption{
	chromedp.Headless,
	chromedp.NoSandbox,
	chromedp.DisableGPU,
	chromedp.NoFirstRun,
	chromedp.NoDefaultBrowserCheck,
	chromedp.Flag("disable-background-networking", true),
	chromedp.Flag("disable-component-update", true),
	chromedp.Flag("disable-sync", true),
	chromedp.Flag("disable-extensions", true),
	chromedp.Flag("disable-dev-shm-usage", true),
	chromedp.Flag("force-color-profile", "srgb"),
}

// Open loads the HTML file at path from disk (file://) in a fresh headless Chromium (its own
// --user-data-dir), width pixels wide, waits for the load event, lets scripts run, and returns
// what it saw. Chromium is /usr/bin/chromium or chromium on PATH: missing, the test skips
// (fails in CI).
func Open(t testing.TB, path string, width int) Page {
	t.Helper()
	bin := testenv.RequireBinary(t, "chromium")
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	u := (&url.URL{Scheme: "file", Path: abs}).String()
	opts := append([]chromedp.ExecAllocatorOption{chromedp.ExecPath(bin), chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, 900)}, Flags...)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()

	p := Page{URL: u}
	var mu sync.Mutex
	// The first Run starts the browser: no timeout on it (it would stop the browser), but a
	// watchdog that cancels everything if Chromium hangs.
	watchdog := time.AfterFunc(3*time.Minute, cancelAlloc)
	defer watchdog.Stop()
	if err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeAssert {
				var args []string
				for _, a := range e.Args {
					args = append(args, a.Description+string(a.Value))
				}
				p.Errors = append(p.Errors, fmt.Sprintf("console.%s: %s", e.Type, strings.Join(args, " ")))
			}
		case *runtime.EventExceptionThrown:
			d := e.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			p.Errors = append(p.Errors, fmt.Sprintf("exception at %d:%d: %s", d.LineNumber, d.ColumnNumber, msg))
		case *cdplog.EventEntryAdded:
			if e.Entry.Level == cdplog.EntryLevelError {
				p.Errors = append(p.Errors, fmt.Sprintf("log %s: %s %s", e.Entry.Source, e.Entry.Text, e.Entry.URL))
			}
		case *network.EventRequestWillBeSent:
			if e.Request.URL != u {
				p.Requests = append(p.Requests, e.Request.URL)
			}
		}
	}); err != nil {
		t.Fatalf("start chromium %s: %v", bin, err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(u)); err != nil {
		t.Fatalf("chromium: open %s: %v", u, err)
	}
	charts, err := chromedp.Run(ctx, chromedp.Evaluate[[]Chart](chartProbe))
	if err != nil {
		t.Fatalf("chromium: read the charts of %s: %v", u, err)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("chromium: screenshot of %s: %v", u, err)
	}
	// Console messages are events: one round trip more lets the last ones arrive.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[int](`1`)); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	if err := chromedp.Cancel(ctx); err != nil {
		t.Logf("chromium: close: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	p.Charts, p.Screenshot = charts, shot
	return p
}

// Check fails the test unless the page had no console error and made no request, and drew
// that many Chart.js charts, each with data points placed on its canvas and, except the charts
// named in mayBeBlank (e.g. an errors chart of a run without errors), something coloured inside
// its axes; and the screenshot is a PNG.
func (p Page) Check(t testing.TB, charts int, mayBeBlank ...string) {
	t.Helper()
	if len(p.Errors) > 0 {
		t.Errorf("%s: console errors: %q", p.URL, p.Errors)
	}
	if len(p.Requests) > 0 {
		t.Errorf("%s: requests: %q", p.URL, p.Requests)
	}
	if len(p.Charts) != charts {
		t.Fatalf("%s: %d charts drawn, want %d: %+v", p.URL, len(p.Charts), charts, p.Charts)
	}
	for _, c := range p.Charts {
		if c.Datasets == 0 || c.Points == 0 || c.Drawn == 0 || c.Width < 300 || c.Height < 150 {
			t.Errorf("chart %s not drawn: %+v", c.ID, c)
		}
		if c.Ink == 0 && !slices.Contains(mayBeBlank, c.ID) {
			t.Errorf("chart %s: nothing coloured inside its axes: %+v", c.ID, c)
		}
	}
	if !bytes.HasPrefix(p.Screenshot, []byte("\x89PNG")) {
		t.Errorf("%s: the screenshot is not a PNG", p.URL)
	}
}

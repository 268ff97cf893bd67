package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Prometheus is a running Prometheus server (Debian's) on a free loopback port.
type Prometheus struct {
	URL string // http://127.0.0.1:PORT
	log *Buffer
}

// StartPrometheus runs Debian's prometheus with config (a prometheus.yml text; rule_files
// should be absolute paths) and storage in a temporary directory, waits until it is ready and
// stops it (SIGTERM, then SIGKILL) when the test ends. Skipped, or failed in CI, without it.
func StartPrometheus(t testing.TB, config string) *Prometheus {
	t.Helper()
	bin := RequireBinary(t, "prometheus")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	port := FreePort(t)
	p := &Prometheus{URL: fmt.Sprintf("http://127.0.0.1:%d", port), log: &Buffer{}}
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address=127.0.0.1:"+strconv.Itoa(port), "--log.level=warn")
	cmd.Stdout, cmd.Stderr = p.log, p.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("prometheus log:\n%s", p.log.String())
		}
	})
	c := &http.Client{Timeout: 2 * time.Second}
	WaitFor(t, 60*time.Second, "prometheus to be ready", func() bool {
		select {
		case <-done:
			t.Fatalf("prometheus exited: %s", p.log.String())
		default:
		}
		resp, err := c.Get(p.URL + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return p
}

// Sample is one series of an instant query's result.
type Sample struct {
	Metric map[string]string
	Value  float64
}

// apiResponse is the envelope of Prometheus's HTTP API.
type apiResponse struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	Warnings  []string        `json:"warnings"`
}

func (p *Prometheus) get(path string, params url.Values) (json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+path+"?"+params.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r apiResponse
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, fmt.Errorf("%s: HTTP %d: %w", path, resp.StatusCode, err)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("%s: %s: %s", path, r.ErrorType, r.Error)
	}
	if len(r.Warnings) > 0 {
		return nil, fmt.Errorf("%s: warnings: %s", path, strings.Join(r.Warnings, "; "))
	}
	return r.Data, nil
}

// Query runs an instant query (/api/v1/query) now; an error status or a warning is an error, as
// is a result that is not a vector or a scalar.
func (p *Prometheus) Query(expr string) ([]Sample, error) {
	data, err := p.get("/api/v1/query", url.Values{"query": {expr}})
	if err != nil {
		return nil, err
	}
	var d struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, err
	}
	parse := func(v [2]any) (float64, error) {
		s, _ := v[1].(string)
		return strconv.ParseFloat(s, 64) // "NaN" and "+Inf" parse too
	}
	switch d.ResultType {
	case "vector":
		var rs []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		}
		if err := json.Unmarshal(d.Result, &rs); err != nil {
			return nil, err
		}
		out := make([]Sample, 0, len(rs))
		for _, r := range rs {
			v, err := parse(r.Value)
			if err != nil {
				return nil, err
			}
			out = append(out, Sample{Metric: r.Metric, Value: v})
		}
		return out, nil
	case "scalar":
		var r [2]any
		if err := json.Unmarshal(d.Result, &r); err != nil {
			return nil, err
		}
		v, err := parse(r)
		if err != nil {
			return nil, err
		}
		return []Sample{{Value: v}}, nil
	}
	return nil, fmt.Errorf("query %s: result type %q", expr, d.ResultType)
}

// LabelValues lists the values of a label (/api/v1/label/NAME/values), only of the series
// matching selector when it is not empty.
func (p *Prometheus) LabelValues(label, selector string) ([]string, error) {
	params := url.Values{}
	if selector != "" {
		params.Set("match[]", selector)
	}
	data, err := p.get("/api/v1/label/"+url.PathEscape(label)+"/values", params)
	if err != nil {
		return nil, err
	}
	var out []string
	return out, json.Unmarshal(data, &out)
}

// Targets returns each active scrape target's scrape URL and health ("up", "down", "unknown").
func (p *Prometheus) Targets() (map[string]string, error) {
	data, err := p.get("/api/v1/targets", url.Values{"state": {"active"}})
	if err != nil {
		return nil, err
	}
	var d struct {
		ActiveTargets []struct {
			ScrapeURL string `json:"scrapeUrl"`
			Health    string `json:"health"`
		} `json:"activeTargets"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, tg := range d.ActiveTargets {
		out[tg.ScrapeURL] = tg.Health
	}
	return out, nil
}

// StartNginxExporter runs Debian's prometheus-nginx-exporter against an nginx stub_status URL
// on a free loopback port, returns its "127.0.0.1:PORT" (metrics at /metrics) and stops it when
// the test ends (its log is shown if the test failed). Skipped, or failed in CI, without it.
func StartNginxExporter(t testing.TB, statusURL string) string {
	t.Helper()
	bin := RequireBinary(t, "prometheus-nginx-exporter")
	addr := "127.0.0.1:" + strconv.Itoa(FreePort(t))
	cmd := exec.Command(bin, "-nginx.scrape-uri", statusURL, "-web.listen-address", addr)
	log := &Buffer{}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start prometheus-nginx-exporter: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("prometheus-nginx-exporter log:\n%s", log.String())
		}
	})
	return addr
}

package main

// The Grafana dashboard against a real Prometheus that scrapes a real run: every panel query of
// deploy/grafana/dashboards/hls-swarm.json, with its variables expanded as Grafana would, must
// return data. Grafana itself cannot be had here; Prometheus's HTTP API is what its Prometheus
// data source calls.

import (
	"fmt"
	"math"
	"net/url"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/grafanadash"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/origin/origintest"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

func TestGrafanaDashboardQueries(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real origin, two swarm shards, the nginx exporter and Prometheus for ~1 minute; skipped under -short")
	}
	dash, err := grafanadash.Load("../../deploy/grafana/dashboards/hls-swarm.json")
	if err != nil {
		t.Fatal(err)
	}
	rules, err := filepath.Abs("../../deploy/prometheus/hls-swarm.rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	testenv.RequireBinary(t, "prometheus")
	testenv.RequireBinary(t, "prometheus-nginx-exporter")
	bin := swarmBuildBinary(t)
	o := origintest.Start(t, "default", origintest.Small())
	exporter := testenv.StartNginxExporter(t, o.BaseURL+"/nginx_status")

	// One run of 4 clients in two shards (--shard 0/2 and 1/2: 2 clients each), through a proxy that answers 404 and 500 for some segments, so
	// that the error panels (no series while nothing has failed) have data too.
	p := newFaultProxy(t, o.BaseURL)
	p.fail404And500(8)
	const shards, clientsPerShard = 2, 2
	var swarms []*swarmProc
	var targets []string
	for i := range shards {
		s := startSwarm(t, bin, "--clients", strconv.Itoa(shards*clientsPerShard), "--ramp-rate", "20", "--duration", "0",
			"--shard", fmt.Sprintf("%d/%d", i, shards), "http://"+p.addr+"/stream.m3u8")
		swarms = append(swarms, s)
		targets = append(targets, strings.TrimPrefix(s.metrics, "http://"))
	}

	// The job names are those of deploy/prometheus.yml; the intervals are short so that a 1 min
	// rate has enough samples within seconds.
	const scrape = time.Second
	prom := testenv.StartPrometheus(t, fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - %q
scrape_configs:
  - job_name: swarm
    static_configs:
      - targets: [%s]
  - job_name: origin-nginx
    static_configs:
      - targets: [%q]
`, rules, quoteAll(targets), exporter))

	testenv.WaitFor(t, 90*time.Second, "every target up and a failed segment scraped", func() bool {
		tg, err := prom.Targets()
		if err != nil || len(tg) != shards+1 {
			return false
		}
		for _, h := range tg {
			if h != "up" {
				return false
			}
		}
		v, err := prom.Query(`sum(hls_swarm_errors_total{class="http"})`)
		return err == nil && len(v) == 1 && v[0].Value > 0
	})

	// The variables, resolved as Grafana does for label_values(…): through /api/v1/label/…/values.
	values := map[string][]string{}
	for _, v := range dash.Variables {
		if v.Type != "query" {
			continue
		}
		sel, label, err := grafanadash.LabelValues(v.Query)
		if err != nil {
			t.Fatal(err)
		}
		sel, err = dash.Expand(sel, map[string]grafanadash.Selection{"job": {Values: values["job"]}}, grafanadash.Window{})
		if err != nil {
			t.Fatalf("variable %s: %v", v.Name, err)
		}
		got, err := prom.LabelValues(label, sel)
		if err != nil {
			t.Fatalf("variable %s (%s): %v", v.Name, v.Query, err)
		}
		values[v.Name] = got
	}
	t.Logf("variables: %v", values)
	sort.Strings(targets)
	if fmt.Sprint(values["job"]) != "[swarm]" || fmt.Sprint(values["instance"]) != fmt.Sprint(targets) ||
		fmt.Sprint(values["origin_job"]) != "[origin-nginx]" {
		t.Fatalf("variables %v, want job [swarm], instance %v, origin_job [origin-nginx]", values, targets)
	}

	// Grafana's defaults: the dashboard's 15 min range over a panel ~1000 px wide, and the data
	// source's timeInterval set to the scrape interval (as deploy/grafana provisions it).
	win := grafanadash.Window{Range: 15 * time.Minute, MaxDataPoints: 1000, ScrapeInterval: scrape}
	selections := map[string]map[string]grafanadash.Selection{
		"all shards": {
			"datasource": {Values: []string{"prometheus"}}, "job": {Values: values["job"]},
			"instance": {All: true, Values: values["instance"]}, "origin_job": {Values: values["origin_job"]},
		},
		"one shard": {
			"datasource": {Values: []string{"prometheus"}}, "job": {Values: values["job"]},
			"instance": {Values: values["instance"][:1]}, "origin_job": {Values: values["origin_job"]},
		},
	}

	// Every query of every panel, for both selections, until each returns a series (the rates
	// and quantiles need a few scrapes) or the time is up; then each failure is reported. A few
	// must also be above 0: data this run certainly produced, over a window that always holds
	// some (a 1 min rate, nginx's requests that include the exporter's own every second).
	positive := map[string]bool{
		`all shards: panel "Failed attempts per second by class" A`:      true,
		`all shards: panel "Received bandwidth" A`:                       true,
		`all shards: panel "Start-up: process start to first segment" B`: true,
		`all shards: panel "nginx requests and accepted connections" A`:  true,
	}
	type check struct{ name, expr string }
	var checks []check
	for selName, sel := range selections {
		for _, q := range dash.Queries {
			expr, err := dash.Expand(q.Expr, sel, win)
			if err != nil {
				t.Fatalf("panel %q %s: %v", q.Panel, q.RefID, err)
			}
			checks = append(checks, check{fmt.Sprintf("%s: panel %q %s", selName, q.Panel, q.RefID), expr})
		}
	}
	failing := map[string]string{}
	results := map[string][]testenv.Sample{}
	start := time.Now()
	deadline := start.Add(90 * time.Second)
	for {
		clear(failing)
		for _, c := range checks {
			v, err := prom.Query(c.expr)
			switch {
			case err != nil:
				failing[c.name] = fmt.Sprintf("%s: %v", c.expr, err)
			case len(v) == 0:
				failing[c.name] = c.expr + ": no series"
			case positive[c.name] && !(v[0].Value > 0):
				failing[c.name] = fmt.Sprintf("%s = %v, want > 0", c.expr, v[0].Value)
			default:
				results[c.name] = v
			}
		}
		if len(failing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(2 * time.Second)
	}
	for name, why := range failing {
		t.Errorf("%s: %s", name, why)
	}
	t.Logf("%d panel queries × %d selections: %d returned data (%s after the first failed segment was scraped)",
		len(dash.Queries), len(selections), len(checks)-len(failing), time.Since(start).Round(time.Second))
	var nan []string
	for name, v := range results {
		for _, x := range v {
			if math.IsNaN(x.Value) {
				nan = append(nan, name)
				break
			}
		}
	}
	sort.Strings(nan)
	t.Logf("NaN (no observation in the window, or 0/0): %d %v", len(nan), nan)
	for name := range positive {
		if _, ok := results[name]; !ok && failing[name] == "" {
			t.Errorf("%s: no such panel query", name)
		}
	}

	// The summed panels sum the shards.
	for name, want := range map[string]float64{
		`all shards: panel "Shards reporting" A`:        shards,
		`all shards: panel "Clients active / target" B`: shards * clientsPerShard,
	} {
		if v := results[name]; len(v) != 1 || v[0].Value != want {
			t.Errorf("%s = %v, want %v", name, v, want)
		}
	}
	if v := results[`one shard: panel "Active clients per shard" A`]; len(v) != 1 {
		t.Errorf("one shard selected, %d series per shard: %v", len(v), v)
	}

	for _, s := range swarms {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, s := range swarms {
		if code := s.wait(20 * time.Second); code != 0 {
			t.Errorf("swarm exit code %d after SIGTERM, want 0", code)
		}
	}
	u, _ := url.Parse("http://" + p.addr)
	testenv.WaitFor(t, 10*time.Second, "no FFmpeg client left", func() bool {
		for _, pid := range swarmProcessesMentioning(u.Host) {
			if st, _ := swarmReadStat(pid); st.comm == "ffmpeg" {
				return false
			}
		}
		return true
	})
}

// quoteAll writes targets as a YAML flow list's items.
func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

package grafanadash

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

const dashboardFile = "../../deploy/grafana/dashboards/hls-swarm.json"

// TestDashboardSchema decodes the shipped dashboard strictly against Grafana's dashboard model
// (grafana-foundation-sdk) and checks what a user of it expects: a data source variable, the
// swarm's job and shard variables, every panel on that data source, and a query for each thing
// the dashboard is there to show.
func TestDashboardSchema(t *testing.T) {
	d, err := Load(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(d.Names(), " "); got != "datasource instance job origin_job" {
		t.Errorf("variables %q", got)
	}
	for _, v := range d.Variables {
		switch v.Name {
		case "datasource":
			if v.Type != "datasource" || v.Query != "prometheus" {
				t.Errorf("datasource variable: %+v", v)
			}
		default:
			if _, _, err := LabelValues(v.Query); err != nil {
				t.Errorf("variable %s: %v", v.Name, err)
			}
		}
	}
	for _, pr := range d.Model.Panels {
		if p := pr.Panel; p != nil && (p.Datasource.Uid == nil || *p.Datasource.Uid != "${datasource}") {
			t.Errorf("panel %q does not use the $datasource variable", *p.Title)
		}
	}
	all := ""
	for _, q := range d.Queries {
		all += q.Expr + "\n"
	}
	// What issue 9 asks the dashboard to show, each by the series or recording rule it needs.
	for _, want := range []string{
		"job:hls_swarm_target_clients:sum", "job:hls_swarm_active_clients:sum", "job_object:hls_swarm_attempts:rate1m",
		"job:hls_swarm_received_bytes:rate1m", "job:hls_swarm_segment_ttfb_seconds:p95_rate1m",
		"job:hls_swarm_segment_download_seconds:p99_rate1m", "job_class:hls_swarm_errors:rate1m",
		`status=~"[45].."`, "job:hls_swarm_errors:ratio_rate1m", "job:hls_swarm_stalls:rate1m",
		"job:hls_swarm_rebuffer:ratio_rate1m", "job:hls_swarm_time_to_first_segment_seconds:p95_rate5m",
		"nginx_connections_active", "nginx_http_requests_total", "$__rate_interval", "$instance",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no panel query uses %s", want)
		}
	}
	t.Logf("%d panels (rows included), %d queries", len(d.Model.Panels), len(d.Queries))
}

// TestDecodeIsStrict shows that the decoder refuses what Grafana's model does not have: each
// case changes one thing in the shipped dashboard.
func TestDecodeIsStrict(t *testing.T) {
	orig, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	firstOf := func(m map[string]any, typ string) map[string]any {
		for _, p := range m["panels"].([]any) {
			if pm := p.(map[string]any); pm["type"] == typ {
				return pm
			}
		}
		t.Fatalf("no %s panel", typ)
		return nil
	}
	cases := []struct {
		name, want string
		change     func(m map[string]any)
	}{
		{"unknown top-level field", "unexpected field", func(m map[string]any) { m["colour"] = "blue" }},
		{"wrong type", "schemaVersion", func(m map[string]any) { m["schemaVersion"] = "39" }},
		{"unknown panel field", "unexpected field", func(m map[string]any) { firstOf(m, "timeseries")["colour"] = 1 }},
		{"panel without type", "type", func(m map[string]any) { delete(firstOf(m, "timeseries"), "type") }},
		{"unknown panel type", "not one of", func(m map[string]any) { firstOf(m, "timeseries")["type"] = "graph" }},
		{"unknown timeseries option", "unexpected field", func(m map[string]any) {
			firstOf(m, "timeseries")["options"].(map[string]any)["legend"].(map[string]any)["colour"] = 1
		}},
		{"stat option missing", "reduceOptions", func(m map[string]any) {
			delete(firstOf(m, "stat")["options"].(map[string]any), "reduceOptions")
		}},
		{"unknown field in a field config", "unexpected field", func(m map[string]any) {
			firstOf(m, "timeseries")["fieldConfig"].(map[string]any)["defaults"].(map[string]any)["custom"].(map[string]any)["colour"] = 1
		}},
		{"unknown query field", "unexpected field", func(m map[string]any) {
			firstOf(m, "timeseries")["targets"].([]any)[0].(map[string]any)["exp"] = "up"
		}},
		{"query without expr", "expr", func(m map[string]any) {
			delete(firstOf(m, "timeseries")["targets"].([]any)[0].(map[string]any), "expr")
		}},
		{"not a Prometheus query", "Prometheus", func(m map[string]any) {
			p := firstOf(m, "timeseries")
			p["datasource"] = map[string]any{"type": "loki", "uid": "x"}
			p["targets"].([]any)[0].(map[string]any)["datasource"] = map[string]any{"type": "loki", "uid": "x"}
		}},
		{"unknown variable field", "unexpected field", func(m map[string]any) {
			m["templating"].(map[string]any)["list"].([]any)[1].(map[string]any)["colour"] = 1
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var m map[string]any
			if err := json.Unmarshal(orig, &m); err != nil {
				t.Fatal(err)
			}
			c.change(m)
			b, _ := json.Marshal(m)
			_, err := Decode(b)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Decode: %v, want an error mentioning %q", err, c.want)
			}
		})
	}
}

func TestExpand(t *testing.T) {
	all := ".*"
	d := &Dashboard{Variables: []Variable{
		{Name: "job", Type: "query"},
		{Name: "instance", Type: "query", Multi: true, IncludeAll: true, AllValue: &all},
		{Name: "shard", Type: "query", Multi: true, IncludeAll: true},
	}}
	w := Window{Range: 15 * time.Minute, MaxDataPoints: 1000, ScrapeInterval: time.Second}
	cases := []struct {
		expr string
		sel  map[string]Selection
		want string
	}{
		{`up{job=~"$job"}`, map[string]Selection{"job": {Values: []string{"swarm"}}}, `up{job=~"swarm"}`},
		{`up{job="${job}"}`, map[string]Selection{"job": {Values: []string{`a'b\c`}}}, `up{job="a\\'b\\c"}`},
		{`up{instance=~"$instance"}`, map[string]Selection{"instance": {All: true}}, `up{instance=~".*"}`},
		{`up{instance=~"[[instance]]"}`, map[string]Selection{"instance": {Values: []string{"127.0.0.1:9100"}}},
			`up{instance=~"127\\.0\\.0\\.1:9100"}`},
		{`up{instance=~"$shard"}`, map[string]Selection{"shard": {All: true, Values: []string{"a.1", "b"}}}, `up{instance=~"(a\\.1|b)"}`},
		{`rate(x[$__rate_interval]) + rate(x[$__interval]) + $__range_s`, nil, `rate(x[4s]) + rate(x[1s]) + 900`},
	}
	for _, c := range cases {
		got, err := d.Expand(c.expr, c.sel, w)
		if err != nil || got != c.want {
			t.Errorf("Expand(%s) = %s, %v; want %s", c.expr, got, err, c.want)
		}
	}
	for _, bad := range []string{`$nope`, `$job`, `${instance:csv}`} {
		if got, err := d.Expand(bad, nil, w); err == nil {
			t.Errorf("Expand(%s) = %s, want an error", bad, got)
		}
	}
	// A 6 h range over 1000 points rounds 21.6 s to 20 s; the rate window adds one scrape.
	w = Window{Range: 6 * time.Hour, MaxDataPoints: 1000, ScrapeInterval: 5 * time.Second}
	if iv, rv := w.Interval(), w.RateInterval(); iv != 20*time.Second || rv != 25*time.Second {
		t.Errorf("6h: $__interval %s, $__rate_interval %s; want 20s, 25s", iv, rv)
	}
}

// TestProvisioning checks the compose stack's Grafana files against each other: the provisioned
// data source is the dashboard's default, its timeInterval is Prometheus's scrape interval, and
// the dashboard provider reads the directory docker-compose.yaml mounts the dashboard into.
func TestProvisioning(t *testing.T) {
	var ds struct {
		Datasources []struct {
			Name, UID, Type, URL string `yaml:",omitempty"`
			JSONData             struct {
				TimeInterval string `yaml:"timeInterval"`
			} `yaml:"jsonData"`
		}
	}
	readYAML(t, "../../deploy/grafana/provisioning/datasources/prometheus.yaml", &ds)
	var prom struct {
		Global struct {
			ScrapeInterval string `yaml:"scrape_interval"`
		}
	}
	readYAML(t, "../../deploy/prometheus.yml", &prom)
	var provider struct {
		Providers []struct {
			Options struct{ Path string }
		}
	}
	readYAML(t, "../../deploy/grafana/provisioning/dashboards/hls-swarm.yaml", &provider)
	var compose struct {
		Services map[string]struct {
			Volumes  []string
			Profiles []string
		}
	}
	readYAML(t, "../../docker-compose.yaml", &compose)

	d, err := Load(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var defaultDS string
	for _, v := range d.Model.Templating.List {
		if v.Name == "datasource" && v.Current != nil && v.Current.Value.String != nil {
			defaultDS = *v.Current.Value.String
		}
	}
	if len(ds.Datasources) != 1 {
		t.Fatalf("%d data sources provisioned, want 1", len(ds.Datasources))
	}
	p := ds.Datasources[0]
	if p.Type != "prometheus" || p.UID != defaultDS || p.URL != "http://prometheus:9090" {
		t.Errorf("data source %+v: want type prometheus, uid %q (the dashboard's default), url http://prometheus:9090", p, defaultDS)
	}
	if p.JSONData.TimeInterval != prom.Global.ScrapeInterval {
		t.Errorf("timeInterval %q, Prometheus scrapes every %q", p.JSONData.TimeInterval, prom.Global.ScrapeInterval)
	}
	g, ok := compose.Services["grafana"]
	if !ok {
		t.Fatal("docker-compose.yaml has no grafana service")
	}
	if strings.Join(g.Profiles, ",") != "grafana" {
		t.Errorf("grafana profiles %v, want [grafana] (its image cannot be had here: start it only when asked)", g.Profiles)
	}
	mounts := map[string]string{}
	for _, v := range g.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 {
			mounts[parts[0]] = parts[1]
		}
	}
	if mounts["./deploy/grafana/provisioning"] != "/etc/grafana/provisioning" {
		t.Errorf("provisioning mounted at %q, want /etc/grafana/provisioning", mounts["./deploy/grafana/provisioning"])
	}
	if len(provider.Providers) != 1 || mounts["./deploy/grafana/dashboards"] != provider.Providers[0].Options.Path {
		t.Errorf("dashboards mounted at %q, provider reads %+v", mounts["./deploy/grafana/dashboards"], provider.Providers)
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

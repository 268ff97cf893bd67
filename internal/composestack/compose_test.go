package composestack

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
	"testing"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/imagegentest"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/origin/origintest"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/report"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

const (
	shards   = 3
	clients  = 2 * shards // 2 per shard
	duration = 30 * time.Second
	linger   = 20 * time.Second // > 2 × the 5 s scrape and evaluation intervals
)

// stack is one Compose project of docker-compose.yaml + deploy/compose/hostnet.yaml.
type stack struct {
	t       *testing.T
	compose string   // docker-compose (v1)
	host    string   // DOCKER_HOST
	repo    string   // the compose files' directory
	project string   // -p
	env     []string // the variables the files read
}

// run runs docker-compose with the two files and the stack's environment (bounded).
func (s *stack) run(timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	full := append([]string{"-f", filepath.Join(s.repo, "docker-compose.yaml"),
		"-f", filepath.Join(s.repo, "deploy", "compose", "hostnet.yaml"), "-p", s.project}, args...)
	cmd := exec.CommandContext(ctx, s.compose, full...)
	cmd.Dir = s.repo
	cmd.Env = append(os.Environ(), append([]string{"DOCKER_HOST=" + s.host}, s.env...)...)
	cmd.WaitDelay = 10 * time.Second
	b, err := cmd.CombinedOutput()
	return string(b), err
}

// container is the id of service's container (ps -q).
func (s *stack) container(service string) string {
	s.t.Helper()
	out, err := s.run(time.Minute, "ps", "-q", service)
	id := strings.TrimSpace(out)
	if err != nil || id == "" || strings.Contains(id, "\n") {
		s.t.Fatalf("docker-compose ps -q %s: %q %v", service, out, err)
	}
	return id
}

// logs is the last lines of every service's log, for a failure message.
func (s *stack) logs() string {
	out, _ := s.run(time.Minute, "logs", "--no-color", "--tail", "25")
	return out
}

// TestComposeStack is issue 12's "done when" 3: the compose stack, with the four images built by
// imagegen (test origin, swarm client, Prometheus and nginx exporter from Debian's binaries
// relocated into the store), comes up on the host network, reaches healthy, runs 3 shards × 2
// clients for 30 s from one --start-at against the origin container, and the recording rules'
// shard totals in its Prometheus (HTTP API) equal `merge` of the 3 summaries. Everything it
// created goes at the end: containers, network, volumes, images, files.
func TestComposeStack(t *testing.T) {
	if testing.Short() {
		t.Skip("builds four images and runs the compose stack for about 2 minutes")
	}
	compose := testenv.RequireBinary(t, "docker-compose")
	host := testenv.Docker(t)
	swarmRoot := imagegentest.SwarmClosure(t, "amd64")
	ffmpegRoot := imagegentest.FFmpegClosure(t)
	nginxRoot := imagegentest.NginxClosure(t)
	promRoot := imagegentest.PrometheusClosure(t)
	exporterRoot := imagegentest.NginxExporterClosure(t)
	swarm := filepath.Join(swarmRoot, "bin", "go-ffmpeg-hls-swarm")

	imagegen := imagegentest.Imagegen(t)
	tag := fmt.Sprintf("compose-%d", time.Now().UnixNano())
	cache := t.TempDir()
	start := time.Now()
	for _, img := range []struct {
		spec  string
		roots []string
	}{
		{"test-origin", []string{swarmRoot, ffmpegRoot, nginxRoot}},
		{"swarm-client", []string{swarmRoot, ffmpegRoot}},
		{"prometheus", []string{promRoot}},
		{"nginx-exporter", []string{exporterRoot, swarmRoot}},
	} {
		imagegentest.LoadImage(t, imagegen, host, img.spec, tag, cache, img.roots...)
	}
	t.Logf("4 images built and loaded in %s", time.Since(start).Round(time.Second))

	// Ports on 127.0.0.1, and Prometheus's targets (file_sd) for them.
	port := func() string { return strconv.Itoa(testenv.FreePort(t)) }
	originPort, exporterPort, promPort := port(), port(), port()
	swarmPorts := []string{port(), port(), port()}
	targets := t.TempDir()
	writeTargets(t, filepath.Join(targets, "swarm.json"), "swarm-client", swarmPorts...)
	writeTargets(t, filepath.Join(targets, "origin-nginx.json"), "test-origin", exporterPort)
	// The shards run as nobody: their summaries go to a directory anyone can write.
	results := t.TempDir()
	if err := os.Chmod(results, 0o777); err != nil {
		t.Fatal(err)
	}

	// The logged origin keeps its access log in the results directory; the shards' user agent
	// picks their requests out of it.
	ua := fmt.Sprintf("hls-swarm-compose-%d", time.Now().UnixNano())
	s := &stack{t: t, compose: compose, host: host, repo: imagegentest.RepoRoot(t),
		project: fmt.Sprintf("hlsswarmcompose%d", time.Now().UnixNano()%1e9),
		env: []string{"IMAGE_TAG=" + tag, "RESULTS_DIR=" + results, "HOSTNET_TARGETS=" + targets,
			"ORIGIN_PORT=" + originPort, "EXPORTER_PORT=" + exporterPort, "PROMETHEUS_PORT=" + promPort,
			"SWARM0_METRICS_PORT=" + swarmPorts[0], "SWARM1_METRICS_PORT=" + swarmPorts[1], "SWARM2_METRICS_PORT=" + swarmPorts[2],
			"ORIGIN_SIZE=320x180", "ORIGIN_FPS=15", "ORIGIN_PROFILE=logged", "ORIGIN_LOG_DIR=/results/origin", "USER_AGENT=" + ua, "CLIENTS=" + strconv.Itoa(clients), "RAMP_RATE=" + strconv.Itoa(clients),
			"DURATION=" + duration.String(), "METRICS_LINGER=" + linger.String(), "START_AT="}}
	t.Cleanup(func() { s.down() })

	// Origin, exporter and Prometheus first; `up` starts the exporter once the origin is healthy.
	start = time.Now()
	if out, err := s.run(5*time.Minute, "up", "-d", "origin", "nginx-exporter", "prometheus"); err != nil {
		t.Fatalf("docker-compose up: %v\n%s\n%s", err, out, s.logs())
	}
	for _, svc := range []string{"origin", "nginx-exporter", "prometheus"} {
		imagegentest.WaitHealthy(t, host, s.container(svc), 3*time.Minute)
	}
	t.Logf("origin, nginx-exporter and prometheus healthy %s after up", time.Since(start).Round(time.Second))

	// Then the shards, all from one --start-at a little ahead (each waits for it with its
	// metrics up); every shard exits 0 when its run and its linger are over.
	startAt := time.Now().Add(25 * time.Second).UTC().Truncate(time.Second)
	s.env[len(s.env)-1] = "START_AT=" + startAt.Format(time.RFC3339)
	if out, err := s.run(5*time.Minute, "up", "-d", "swarm-0", "swarm-1", "swarm-2"); err != nil {
		t.Fatalf("docker-compose up shards: %v\n%s\n%s", err, out, s.logs())
	}
	deadline := time.Until(startAt) + duration + linger + 2*time.Minute
	for i := range shards {
		id := s.container(fmt.Sprintf("swarm-%d", i))
		var state string
		testenv.WaitFor(t, deadline, fmt.Sprintf("shard %d to exit", i), func() bool {
			out, err := imagegentest.Docker(t, host, "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", id)
			state = strings.TrimSpace(out)
			return err == nil && strings.HasPrefix(state, "exited")
		})
		if state != "exited 0" {
			t.Fatalf("shard %d: %s, want exited 0\n%s", i, state, s.logs())
		}
	}

	// merge of the 3 summaries, with the image's own binary.
	var sums []report.Summary
	for i := range shards {
		sum := readSummary(t, filepath.Join(results, fmt.Sprintf("shard-%d.json", i)))
		if sum.Shard == nil || *sum.Shard != (report.Shard{Index: i, Count: shards}) || sum.Clients.Target != clients/shards {
			t.Errorf("shard %d summary: shard %v, %d clients; want %d/%d with %d", i, sum.Shard, sum.Clients.Target, i, shards, clients/shards)
		}
		if sum.Started.Before(startAt) || sum.Started.After(startAt.Add(5*time.Second)) {
			t.Errorf("shard %d started at %s, --start-at %s", i, sum.Started, startAt)
		}
		sums = append(sums, sum)
	}
	mergedPath := filepath.Join(t.TempDir(), "merged.json")
	if out, err := exec.Command(swarm, "merge", "--threshold", "errors==0", "--summary-json", mergedPath, results).CombinedOutput(); err != nil {
		t.Fatalf("merge %s: %v\n%s", results, err, out)
	}
	m := readSummary(t, mergedPath)
	if m.MergedFrom != shards || m.Clients.Target != clients || m.Requests.Segments < int64(clients)*(int64(duration/time.Second)/2-4) {
		t.Fatalf("merged: from %d shards, %d clients, %d segments: want %d, %d, a segment every 2 s per client",
			m.MergedFrom, m.Clients.Target, m.Requests.Segments, shards, clients)
	}

	// Prometheus's aggregates over the run (max_over_time: a shard that exited drops out of
	// the sum, and the counters only grow) equal merge's totals.
	prom := "http://127.0.0.1:" + promPort
	want := map[string]float64{
		`job:hls_swarm_build_info:count{job="swarm"}`:    shards,
		`job:hls_swarm_target_clients:sum{job="swarm"}`:  clients,
		`job:hls_swarm_attempts:sum{job="swarm"}`:        float64(m.Requests.Total),
		`job:hls_swarm_received_bytes:sum{job="swarm"}`:  float64(m.ReceivedBytes),
		`job:hls_swarm_errors:sum{job="swarm"}`:          float64(m.Errors.Total),
		`job_object:hls_swarm_attempts:sum{job="swarm"}`: float64(m.Requests.Total),
	}
	for obj, n := range m.Requests.ByObject {
		want[fmt.Sprintf(`job_object:hls_swarm_attempts:sum{job="swarm",object=%q}`, obj)] = float64(n)
	}
	delete(want, `job_object:hls_swarm_attempts:sum{job="swarm"}`)
	// The last evaluation after the shards' last scrapes is at most seconds old: poll briefly.
	got := map[string]float64{}
	var qerr error
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(2 * time.Second) {
		equal := true
		for q, w := range want {
			if got[q], qerr = queryMax(prom, q); qerr != nil || got[q] != w {
				equal = false
			}
		}
		if equal || time.Now().After(end) {
			break
		}
	}
	for q, w := range want {
		if got[q] != w {
			t.Errorf("max_over_time(%s) = %v, want %v (merge of the shards' summaries; last query error: %v)", q, got[q], w, qerr)
		}
	}
	t.Logf("Prometheus = merge of %d shards: %d attempts (%v), %d bytes, %d errors; %d clients",
		shards, m.Requests.Total, m.Requests.ByObject, m.ReceivedBytes, m.Errors.Total, m.Clients.Target)

	// The origin's own records: its access log holds exactly what merge counts (by object and
	// status, and bytes), besides each shard's preflight fetch. nginx flushes it within 5 s.
	fromMerged := origintest.TallyOf(m.Requests.ObjectStatus, m.Requests.Bytes)
	accessLog := filepath.Join(results, "origin", "access.log")
	var fromLog origintest.Tally
	var preflights int
	testenv.WaitFor(t, 30*time.Second, "the origin's access log to equal merge ("+accessLog+")", func() bool {
		f, err := os.Open(accessLog)
		if err != nil {
			return false
		}
		defer f.Close()
		fromLog, preflights, err = origintest.ReadAccessLog(f, ua, shards)
		return err == nil && preflights == shards && fromLog.Equal(fromMerged)
	})
	t.Logf("access log = merge: %s (+%d preflights)", fromLog, preflights)

	// The origin's own count, through the exporter: nginx served every attempt (and the
	// preflights, healthchecks and its own status scrapes besides).
	if v, err := queryMax(prom, `nginx_http_requests_total{job="origin-nginx"}`); err != nil || v < float64(m.Requests.Total) {
		t.Errorf("nginx_http_requests_total = %v (%v), want at least the swarm's %d attempts", v, err, m.Requests.Total)
	} else {
		t.Logf("nginx served %v requests in all", v)
	}

	s.down()
	// Nothing of the project is left: containers, networks, volumes.
	for _, kind := range [][]string{{"ps", "-aq"}, {"network", "ls", "-q"}, {"volume", "ls", "-q"}} {
		out, err := imagegentest.Docker(t, host, append(kind, "--filter", "label=com.docker.compose.project="+s.project)...)
		if err != nil || strings.TrimSpace(out) != "" {
			t.Errorf("docker %s after down: %q %v", strings.Join(kind, " "), out, err)
		}
	}
}

// down stops and removes the project's containers, networks and volumes (idempotent).
func (s *stack) down() {
	if out, err := s.run(3*time.Minute, "down", "-v", "--remove-orphans", "-t", "20"); err != nil {
		s.t.Errorf("docker-compose down: %v\n%s", err, out)
	}
}

// writeTargets writes a Prometheus file_sd file: the ports on 127.0.0.1, with label role.
func writeTargets(t *testing.T, path, role string, ports ...string) {
	t.Helper()
	var addrs []string
	for _, p := range ports {
		addrs = append(addrs, "127.0.0.1:"+p)
	}
	b, err := json.Marshal([]map[string]any{{"targets": addrs, "labels": map[string]string{"role": role}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readSummary(t *testing.T, path string) report.Summary {
	t.Helper()
	s, err := report.ReadSummary(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// queryMax asks Prometheus's HTTP API for the largest value of series over the last 15
// minutes; a series that never existed is 0.
func queryMax(prom, series string) (float64, error) {
	q := url.Values{"query": {"max_over_time(" + series + "[15m])"}}
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(prom + "/api/v1/query?" + q.Encode())
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return 0, fmt.Errorf("%s: %w", resp.Status, err)
	}
	switch {
	case r.Status != "success":
		return 0, fmt.Errorf("%s: %s", resp.Status, r.Error)
	case len(r.Data.Result) == 0:
		return 0, nil
	case len(r.Data.Result) > 1:
		return 0, fmt.Errorf("%d series, want one", len(r.Data.Result))
	}
	s, _ := r.Data.Result[0].Value[1].(string)
	return strconv.ParseFloat(s, 64)
}

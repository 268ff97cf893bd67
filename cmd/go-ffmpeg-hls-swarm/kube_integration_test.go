package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/imagegentest"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/kubetest"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/origin/origintest"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/profiles"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/report"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

// Pod sizing of deploy/k8s/base (docs/how-to/scale-out.md, "How many clients per pod"): per
// client 2m CPU and 16 MiB, above the measured 1.24m (0.038 % + 0.086 % of a core: swarm with
// its metering proxy + FFmpeg) and 13.1 MiB PSS (684 KiB + 12.4 MiB) of BenchmarkSwarm's
// 50-client run (docs/explanation/engine.md), plus 100m and 128 MiB for the swarm process.
const (
	podBaseMilliCPU     = 100
	clientMilliCPU      = 2
	podBaseMemoryMiB    = 128
	clientMemoryMiB     = 16
	kubeShards          = 3
	kubeClientsPerShard = 5
)

// kubeObject is the part of a Job (or any object) the test reads from kubectl's JSON.
type kubeObject struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		CompletionMode string `json:"completionMode"`
		Completions    int    `json:"completions"`
		Parallelism    int    `json:"parallelism"`
		Template       struct {
			Spec struct {
				HostNetwork bool `json:"hostNetwork"`
				Containers  []struct {
					Image string `json:"image"`
					Env   []struct {
						Name  string `json:"name"`
						Value string `json:"value"`
					} `json:"env"`
					Resources struct {
						Requests map[string]string `json:"requests"`
						Limits   map[string]string `json:"limits"`
					} `json:"resources"`
				} `json:"containers"`
			} `json:"spec"`
		} `json:"template"`
	} `json:"spec"`
	Data   map[string]string `json:"data"` // a ConfigMap's
	Status struct {
		Succeeded        int    `json:"succeeded"`
		Failed           int    `json:"failed"`
		CompletedIndexes string `json:"completedIndexes"`
	} `json:"status"`
}

func (o kubeObject) env(name string) string {
	for _, e := range o.Spec.Template.Spec.Containers[0].Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// dryRun applies a kustomization with --dry-run=server and returns the objects the apiserver
// would store.
func dryRun(t *testing.T, c *kubetest.Cluster, dir string) map[string]kubeObject {
	t.Helper()
	out, err := c.Kubectl("apply", "--dry-run=server", "-k", dir, "-o", "json")
	if err != nil {
		t.Fatalf("kubectl apply --dry-run=server -k %s: %v", dir, err)
	}
	var list struct {
		Kind  string       `json:"kind"`
		Items []kubeObject `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("dry run of %s: %v\n%.500s", dir, err, out)
	}
	if list.Kind != "List" { // one object is printed bare
		var one kubeObject
		if err := json.Unmarshal([]byte(out), &one); err != nil {
			t.Fatal(err)
		}
		list.Items = []kubeObject{one}
	}
	objs := map[string]kubeObject{}
	for _, o := range list.Items {
		objs[o.Kind+"/"+o.Metadata.Name] = o
	}
	return objs
}

// checkPrometheus checks deploy/prometheus as the apiserver would store it: a Deployment and a
// Service of Prometheus, and a ConfigMap whose configuration and recording rules are the files
// the compose stack and promtool check, byte for byte.
func checkPrometheus(t *testing.T, repo string, objs map[string]kubeObject) {
	t.Helper()
	if objs["Deployment/hls-swarm-prometheus"].Kind == "" || objs["Service/hls-swarm-prometheus"].Kind == "" {
		t.Fatalf("deploy/prometheus: want Deployment and Service hls-swarm-prometheus, got %v", objs)
	}
	var cm *kubeObject
	for name, o := range objs {
		if strings.HasPrefix(name, "ConfigMap/hls-swarm-prometheus-") {
			cm = &o
		}
	}
	if cm == nil {
		t.Fatalf("deploy/prometheus: no ConfigMap hls-swarm-prometheus-…: %v", objs)
	}
	for key, file := range map[string]string{"prometheus.yml": "prometheus-k8s.yml", "hls-swarm.rules.yml": "hls-swarm.rules.yml"} {
		want, err := os.ReadFile(filepath.Join(repo, "deploy", "prometheus", file))
		if err != nil {
			t.Fatal(err)
		}
		if cm.Data[key] != string(want) {
			t.Errorf("deploy/prometheus ConfigMap %s: not deploy/prometheus/%s", key, file)
		}
	}
}

// checkBase checks deploy/k8s/base as the apiserver would store it: an Indexed Job whose
// completions, parallelism and SHARD_COUNT agree, whose pods each run the default swarm-client
// profile's clients and ramp, with resources derived from that many clients; and its headless
// Service.
func checkBase(t *testing.T, objs map[string]kubeObject) {
	t.Helper()
	job, ok := objs["Job/hls-swarm"]
	if !ok || objs["Service/hls-swarm"].Kind != "Service" {
		t.Fatalf("deploy/k8s/base: want Job/hls-swarm and Service/hls-swarm, got %v", objs)
	}
	set, err := profiles.Load()
	if err != nil {
		t.Fatal(err)
	}
	p, err := set.Swarm(job.env("SWARM_PROFILE"))
	if err != nil {
		t.Fatalf("deploy/k8s/base SWARM_PROFILE: %v", err)
	}
	n := job.Spec.Completions
	res := job.Spec.Template.Spec.Containers[0].Resources
	cpu := fmt.Sprintf("%dm", podBaseMilliCPU+clientMilliCPU*p.Clients)
	mem := fmt.Sprintf("%dMi", podBaseMemoryMiB+clientMemoryMiB*p.Clients)
	for _, c := range []struct{ what, got, want string }{
		{"completionMode", job.Spec.CompletionMode, "Indexed"},
		{"parallelism", strconv.Itoa(job.Spec.Parallelism), strconv.Itoa(n)},
		{"SHARD_COUNT", job.env("SHARD_COUNT"), strconv.Itoa(n)},
		{"CLIENTS (the profile's per shard)", job.env("CLIENTS"), strconv.Itoa(n * p.Clients)},
		{"RAMP_RATE (the profile's per shard)", job.env("RAMP_RATE"), strconv.FormatFloat(float64(n)*p.RampRate, 'g', -1, 64)},
		{"SWARM_SUMMARY_JSON", job.env("SWARM_SUMMARY_JSON"), "-"},
		{"requests.cpu", res.Requests["cpu"], cpu},
		{"requests.memory", res.Requests["memory"], mem},
		{"limits.memory", res.Limits["memory"], mem},
		{"limits.cpu (none)", res.Limits["cpu"], ""},
	} {
		if c.got != c.want {
			t.Errorf("deploy/k8s/base Job %s = %q, want %q", c.what, c.got, c.want)
		}
	}
}

// TestKubernetesShards runs the swarm as an Indexed Job on a real single-node Kubernetes
// (scripts/k8s/cluster.sh): the swarm-client image built by imagegen from the swarm and the FFmpeg
// closure, 3 shards × 5 clients for 60 s from one --start-at against the logged test origin on
// 127.0.0.1 (deploy/k8s/overlays/loopback: hostNetwork). All 3 pods complete; their summaries,
// read from `kubectl logs`, merge into one verdict whose totals equal nginx's access log. The
// manifests pass kubectl apply --dry-run=server first. Everything is removed at the end.
func TestKubernetesShards(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Kubernetes (once per machine), starts a cluster and runs 15 FFmpeg clients for 60 s")
	}
	t0 := time.Now()
	bin := swarmBuildBinary(t)
	swarmImage := kubetest.Image(t, "--spec", filepath.Join(imagegentest.RepoRoot(t), "profiles", "images", "swarm-client.json"),
		"--root", "amd64="+imagegentest.SwarmClosure(t, "amd64"), "--root", "amd64="+imagegentest.FFmpegClosure(t), "--tag", "0.1.0")
	t.Logf("swarm-client image built in %s", time.Since(t0).Round(100*time.Millisecond))
	c := kubetest.Start(t, swarmImage)
	repo := imagegentest.RepoRoot(t)

	// The manifests as shipped, validated by the real apiserver (admission, schemas, defaults).
	checkBase(t, dryRun(t, c, filepath.Join(repo, "deploy", "k8s", "base")))
	lo := dryRun(t, c, filepath.Join(repo, "deploy", "k8s", "overlays", "loopback"))
	if j := lo["Job/hls-swarm"]; !j.Spec.Template.Spec.HostNetwork || len(lo) != 1 {
		t.Fatalf("deploy/k8s/overlays/loopback: want only Job/hls-swarm with hostNetwork, got %v", lo)
	}
	checkPrometheus(t, repo, dryRun(t, c, filepath.Join(repo, "deploy", "prometheus")))

	// The logged origin; its access log is the independent truth.
	o, ng := startLoggedOrigin(t)

	// A kustomization of the user's own on top of the loopback overlay: namespace, origin URL,
	// test size, and a user agent per shard (from the pod's completion index) so the
	// access log tells the shards apart.
	const ns = "hls-swarm-test"
	c.MustKubectl(t, "create", "namespace", ns)
	testenv.WaitFor(t, 60*time.Second, "the service account of namespace "+ns, func() bool {
		_, err := c.Kubectl("-n", ns, "get", "serviceaccount", "default")
		return err == nil
	})
	ua := uaMarker()
	startAt := time.Now().Add(25 * time.Second).UTC().Truncate(time.Second)
	overlay := t.TempDir()
	base, err := filepath.Rel(overlay, filepath.Join(repo, "deploy", "k8s", "overlays", "loopback")) // kustomize wants a relative path
	if err != nil {
		t.Fatal(err)
	}
	kustomization := fmt.Sprintf(`apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: %s
resources:
  - %s
patches:
  - patch: |-
      apiVersion: batch/v1
      kind: Job
      metadata: {name: hls-swarm}
      spec:
        template:
          spec:
            containers:
              - name: swarm
                env:
                  - {name: STREAM_URL, value: %q}
                  - {name: CLIENTS, value: "%d"}
                  - {name: RAMP_RATE, value: "15"}
                  - {name: DURATION, value: 60s}
                  - name: SHARD
                    valueFrom: {fieldRef: {fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']"}}
                  - {name: SWARM_USER_AGENT, value: "%s-$(SHARD)"}
`, ns, base, o.PlaylistURL, kubeShards*kubeClientsPerShard, ua)
	if err := os.WriteFile(filepath.Join(overlay, "kustomization.yaml"), []byte(kustomization), 0o644); err != nil {
		t.Fatal(err)
	}
	// The common start, as the how-to sets it: a ConfigMap the Job's SWARM_START_AT refers to.
	c.MustKubectl(t, "-n", ns, "create", "configmap", "hls-swarm-start", "--from-literal=SWARM_START_AT="+startAt.Format(time.RFC3339))
	c.MustKubectl(t, "apply", "-k", overlay)
	applied := time.Now()

	// All 3 pods complete (a pod that fails ends the Job: backoffLimit 0). Meanwhile, what each
	// pod costs, from its cgroup (cgroupfs, v1): peak memory and CPU time, for the sizing.
	var job kubeObject
	usage := map[string][2]float64{} // pod cgroup → peak MiB, CPU seconds
	testenv.WaitFor(t, 4*time.Minute, "the Job to complete", func() bool {
		pods, _ := filepath.Glob("/sys/fs/cgroup/memory/kubepods/*/pod*")
		for _, pod := range pods {
			mem, err1 := os.ReadFile(filepath.Join(pod, "memory.max_usage_in_bytes"))
			cpu, err2 := os.ReadFile(filepath.Join("/sys/fs/cgroup/cpuacct", strings.TrimPrefix(pod, "/sys/fs/cgroup/memory"), "cpuacct.usage"))
			m, err3 := strconv.ParseFloat(strings.TrimSpace(string(mem)), 64)
			c, err4 := strconv.ParseFloat(strings.TrimSpace(string(cpu)), 64)
			if errors.Join(err1, err2, err3, err4) == nil {
				usage[filepath.Base(pod)] = [2]float64{m / (1 << 20), c / 1e9}
			}
		}
		out, err := c.Kubectl("-n", ns, "get", "job", "hls-swarm", "-o", "json")
		if err != nil {
			return false
		}
		if err := json.Unmarshal([]byte(out), &job); err != nil {
			t.Fatal(err)
		}
		if job.Status.Failed > 0 {
			pods, _ := c.Kubectl("-n", ns, "get", "pods", "-o", "wide")
			logs, _ := c.Kubectl("-n", ns, "logs", "-l", "batch.kubernetes.io/job-name=hls-swarm", "--tail=20", "--prefix")
			t.Fatalf("a shard failed: %+v\n%s\n%s\n%s", job.Status, pods, logs, c.LogTails())
		}
		return job.Status.Succeeded == kubeShards
	})
	for pod, u := range usage {
		t.Logf("%s: peak memory %.0f MiB, CPU %.1f s (%d clients; a run of about 65 s)", pod, u[0], u[1], kubeClientsPerShard)
	}
	t.Logf("Job complete %s after apply (start-at %s after apply), completed indexes %q", time.Since(applied).Round(time.Second),
		startAt.Sub(applied).Round(time.Second), job.Status.CompletedIndexes)
	if job.Status.CompletedIndexes != "0-2" {
		t.Errorf("completed indexes %q, want 0-2", job.Status.CompletedIndexes)
	}

	// The shards' summaries from their logs, merged by the binary from stdin.
	logs := c.MustKubectl(t, "-n", ns, "logs", "-l", "batch.kubernetes.io/job-name=hls-swarm", "--tail=-1", "--max-log-requests=10")
	dir := t.TempDir()
	merged := filepath.Join(dir, "merged.json")
	var stdout, stderr bytes.Buffer
	code := runStdin(t, bin, []byte(logs), &stdout, &stderr, "merge", "--summary-json", merged, "--threshold", "errors==0", "-")
	if code != 0 || stderr.Len() != 0 {
		t.Fatalf("merge -: exit %d\n%s\n%s\nlogs:\n%.3000s", code, stdout.String(), stderr.String(), logs)
	}
	m := readSummary(t, merged)
	shards, err := report.ReadStream("logs", strings.NewReader(logs))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, s := range shards {
		sh := s.Summary.Shard
		if sh == nil || sh.Count != kubeShards || s.Summary.Clients.Target != kubeClientsPerShard {
			t.Errorf("%s: shard %v with %d clients, want ?/%d with %d", s.Path, sh, s.Summary.Clients.Target, kubeShards, kubeClientsPerShard)
			continue
		}
		seen[sh.Index] = true
		if st := s.Summary.Started; st.Before(startAt) || st.After(startAt.Add(5*time.Second)) {
			t.Errorf("shard %d started at %s, --start-at %s", sh.Index, st, startAt)
		}
	}
	if len(shards) != kubeShards || len(seen) != kubeShards || m.MergedFrom != kubeShards || m.Clients.Target != kubeShards*kubeClientsPerShard {
		t.Errorf("merged %d summaries of shards %v, %d clients; want %d shards, %d clients", m.MergedFrom, seen, m.Clients.Target,
			kubeShards, kubeShards*kubeClientsPerShard)
	}

	// The merged totals (requests by object and status, body bytes) equal the access log's.
	fromMerged := origintest.TallyOf(m.Requests.ObjectStatus, m.Requests.Bytes)
	var want origintest.Tally
	testenv.WaitFor(t, 30*time.Second, "the access log to equal the merged summary", func() bool {
		want = origintest.NewTally()
		for i := range kubeShards {
			want.AddAll(ng.tally(t, fmt.Sprintf("%s-%d", ua, i)))
		}
		return want.Equal(fromMerged)
	})
	if m.Requests.Segments < kubeShards*kubeClientsPerShard*(60/2-5) {
		t.Errorf("merged run too small: %d segments", m.Requests.Segments)
	}
	t.Logf("access log = merge of %d shards from kubectl logs: %s; %d attempts, startup p95 %gs; %s in all",
		kubeShards, want, m.Requests.Total, m.Startup.P95, time.Since(t0).Round(time.Second))
}

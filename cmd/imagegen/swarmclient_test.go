package main

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/imagegentest"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/origin/origintest"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

// TestSwarmClientImage builds the swarm-client image (the swarm binary + the FFmpeg closure
// fixture, 216 store paths) and runs a real 20-client swarm in it against a local origin, with
// --network host, until Docker calls the container healthy and every client fetches segments.
func TestSwarmClientImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 240 MB image and runs 20 FFmpeg clients in Docker")
	}
	host := testenv.Docker(t)
	ffmpegRoot := imagegentest.FFmpegClosure(t)
	swarmRoot := imagegentest.SwarmClosure(t, "amd64")
	o := origintest.Start(t, "default", origintest.Small())

	buildOK(t, "--spec", specPath(t, "swarm-client"), "--root", "amd64="+swarmRoot, "--root", "amd64="+ffmpegRoot,
		"--tag", "e2e", "--docker-host", host, "-o", "docker-daemon")
	img := "go-ffmpeg-hls-swarm-swarm-client:e2e"
	name := fmt.Sprintf("imagegen-swarm-client-%d", time.Now().UnixNano())
	t.Cleanup(func() {
		_, _ = imagegentest.Docker(t, host, "stop", "-t", "10", name)
		_, _ = imagegentest.Docker(t, host, "rm", "-f", name)
		_, _ = imagegentest.Docker(t, host, "rmi", "-f", img)
	})

	port := testenv.FreePort(t)
	const clients = 20
	out, err := imagegentest.Docker(t, host, "run", "-d", "--name", name, "--network", "host",
		"-e", "METRICS_PORT="+strconv.Itoa(port), img,
		"--clients", strconv.Itoa(clients), "--ramp-rate", "10", "--duration", "0", o.PlaylistURL)
	if err != nil {
		t.Fatalf("docker run: %v\n%s", err, out)
	}
	imagegentest.WaitHealthy(t, host, name, 120*time.Second)

	// Every client runs (FFmpeg from the store, found through /bin) and fetches segments.
	metrics := fmt.Sprintf("http://127.0.0.1:%d/metrics", port)
	value := func(body, metric string) float64 {
		m := regexp.MustCompile(`(?m)^` + metric + ` ([0-9.e+]+)$`).FindStringSubmatch(body)
		if m == nil {
			return -1
		}
		v, _ := strconv.ParseFloat(m[1], 64)
		return v
	}
	var last string
	ok := func() bool {
		resp, err := http.Get(metrics)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		last = string(b)
		return value(last, "hls_swarm_active_clients") == clients && value(last, `hls_swarm_attempts_total\{object="segment"\}`) >= clients
	}
	deadline := time.Now().Add(120 * time.Second)
	for !ok() && time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
	}
	if !ok() {
		logs, _ := imagegentest.Docker(t, host, "logs", "--tail", "40", name)
		var lines []string
		for _, l := range strings.Split(last, "\n") {
			if strings.HasPrefix(l, "hls_swarm_") {
				lines = append(lines, l)
			}
		}
		t.Fatalf("swarm in the container did not reach %d active clients fetching segments:\n%s\nlogs:\n%s",
			clients, strings.Join(lines, "\n"), logs)
	}
	t.Logf("active %v, segments %v", value(last, "hls_swarm_active_clients"), value(last, `hls_swarm_attempts_total\{object="segment"\}`))
}

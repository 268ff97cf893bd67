package originimage

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/imagegentest"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

const app = "go-ffmpeg-hls-swarm"

// image is a test-origin image built for this test and loaded into Docker.
type image struct {
	host  string // DOCKER_HOST
	ref   string // NAME:TAG
	swarm string // the swarm binary of the image's closure (runs on this amd64 host too)
}

// buildImage builds the test-origin image with the real imagegen CLI from three roots for one
// arch (swarm, FFmpeg, nginx) and loads it into Docker; the image is removed at cleanup.
func buildImage(t *testing.T) image {
	t.Helper()
	host := testenv.Docker(t)
	swarmRoot := imagegentest.SwarmClosure(t, "amd64")
	ffmpegRoot := imagegentest.FFmpegClosure(t)
	nginxRoot := imagegentest.NginxClosure(t)
	tag := fmt.Sprintf("originimage-%d", time.Now().UnixNano())
	// A layer cache of its own, not the user's.
	ref := imagegentest.LoadImage(t, imagegentest.Imagegen(t), host, "test-origin", tag, t.TempDir(), swarmRoot, ffmpegRoot, nginxRoot)
	return image{host: host, ref: ref, swarm: filepath.Join(swarmRoot, "bin", app)}
}

// TestOriginImage builds the test-origin image once and runs it two ways: with docker run, and
// through `go-ffmpeg-hls-swarm up PROFILE container`.
func TestOriginImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds three store closures and a 250 MB image, and runs FFmpeg and nginx in Docker")
	}
	img := buildImage(t)
	t.Run("docker run", func(t *testing.T) { testDockerRun(t, img) })
	t.Run("up container", func(t *testing.T) { testUpContainer(t, img) })
}

// testDockerRun runs the image as Docker would in production (its own user nobody, its /tmp,
// Docker's 64 MiB /dev/shm, --network host) until its exec-form healthcheck says healthy;
// fetches the playlist and a segment from the host; plays the stream with a real 5-client
// swarm; and stops the container with SIGTERM, which must end it cleanly (exit 0).
func testDockerRun(t *testing.T, img image) {
	port := testenv.FreePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	name := fmt.Sprintf("originimage-%d", time.Now().UnixNano())
	t.Cleanup(func() { _, _ = imagegentest.Docker(t, img.host, "rm", "-f", name) })
	// The port comes from the image's ORIGIN_PORT, and its healthcheck (--origin) follows it.
	out, err := imagegentest.Docker(t, img.host, "run", "-d", "--name", name, "--network", "host",
		"-e", "ORIGIN_PORT="+strconv.Itoa(port),
		img.ref, "--listen", "127.0.0.1", "--size", "320x180", "--fps", "15")
	if err != nil {
		t.Fatalf("docker run: %v\n%s", err, out)
	}
	imagegentest.WaitHealthy(t, img.host, name, 120*time.Second)

	out, err = imagegentest.Docker(t, img.host, "inspect", "-f", "{{.Config.User}} {{json .Config.Healthcheck.Test}}", name)
	if want := `65534:65534 ["CMD","/bin/go-ffmpeg-hls-swarm","healthcheck","--origin"]`; err != nil || strings.TrimSpace(out) != want {
		t.Errorf("docker inspect user/healthcheck = %q (%v), want %q", strings.TrimSpace(out), err, want)
	}

	// The playlist and one of its segments, from the host.
	fetchStream(t, base)

	// A real swarm on the host plays the container's stream.
	s := runSwarm(t, img.swarm, base+"/stream.m3u8", 5, 15*time.Second)
	if s.Requests.Segments <= 0 || s.Errors.Total != 0 || s.Clients.Peak != 5 {
		t.Fatalf("swarm against the container: peak %d clients, %d segments, %d errors (want 5, > 0, 0); errors by class %v, by object and class %v, http by status %v",
			s.Clients.Peak, s.Requests.Segments, s.Errors.Total, s.Errors.Class, s.Errors.ObjectClass, s.Errors.HTTPStatus)
	}
	t.Logf("swarm: %d clients, %d segments, %d playlists, 0 errors", s.Clients.Peak, s.Requests.Segments, s.Requests.Playlists)

	// docker stop sends SIGTERM: the origin stops FFmpeg and nginx and exits 0 well before
	// Docker's SIGKILL (which would show as 137).
	const grace = 30
	start := time.Now()
	if out, err := imagegentest.Docker(t, img.host, "stop", "-t", strconv.Itoa(grace), name); err != nil {
		t.Fatalf("docker stop: %v\n%s", err, out)
	}
	took := time.Since(start)
	out, _ = imagegentest.Docker(t, img.host, "inspect", "-f", "{{.State.ExitCode}} {{.State.OOMKilled}}", name)
	if strings.TrimSpace(out) != "0 false" || took >= grace*time.Second {
		logs, _ := imagegentest.Docker(t, img.host, "logs", "--tail", "30", name)
		t.Fatalf("after docker stop (%s): exit code, OOM = %q, want 0 false within %ds\nlogs:\n%s", took, strings.TrimSpace(out), grace, logs)
	}
	logs, err := imagegentest.Docker(t, img.host, "logs", name)
	if err != nil || !strings.Contains(logs, "origin stopped") {
		t.Fatalf("the origin did not log its shutdown (%v):\n%s", err, logs)
	}
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "origin up") {
			t.Log(l)
		}
	}
	t.Logf("docker stop took %s, exit 0", took.Round(time.Millisecond))
}

// testUpContainer starts the image through `go-ffmpeg-hls-swarm up default container` (which
// prints its plan and execs `docker run --rm --network host -e ORIGIN_PORT=P IMAGE --profile
// default --port P …`), fetches the stream, waits for the container to be healthy, then sends SIGTERM: docker passes it on, the origin exits 0, and --rm leaves no
// container behind.
func testUpContainer(t *testing.T, img image) {
	port := testenv.FreePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	originArgs := []string{"--port", strconv.Itoa(port), "--listen", "127.0.0.1", "--size", "320x180", "--fps", "15"}
	cmd := exec.Command(img.swarm, append([]string{"up", "default", "container", "--image", img.ref, "--"}, originArgs...)...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+img.host)
	var out testenv.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			_ = cmd.Process.Kill()
			<-done
		}
		ids, _ := imagegentest.Docker(t, img.host, "ps", "-aq", "--filter", "ancestor="+img.ref)
		for _, id := range strings.Fields(ids) {
			_, _ = imagegentest.Docker(t, img.host, "rm", "-f", id)
		}
	})

	testenv.WaitFor(t, 120*time.Second, "the origin started by up to serve "+base+"/stream.m3u8", func() bool {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("up exited early: %v\n%s", err, out.String())
		default:
		}
		resp, err := http.Get(base + "/stream.m3u8")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	fetchStream(t, base)
	// up moved the healthcheck's port with the origin's (-e ORIGIN_PORT), so the container gets healthy.
	var id string
	testenv.WaitFor(t, 30*time.Second, "the container started by up", func() bool {
		ids, err := imagegentest.Docker(t, img.host, "ps", "-q", "--filter", "ancestor="+img.ref)
		id = strings.TrimSpace(ids)
		return err == nil && id != "" && !strings.Contains(id, "\n")
	})
	imagegentest.WaitHealthy(t, img.host, id, 120*time.Second)
	want := "Underlying: docker run --rm --network host -e ORIGIN_PORT=" + strconv.Itoa(port) + " " + img.ref +
		" --profile default " + strings.Join(originArgs, " ")
	if !strings.Contains(out.String(), want) || !strings.Contains(out.String(), "Type:       container") {
		t.Errorf("up printed:\n%s\nwant the lines Type: container and %q", out.String(), want)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		done <- err
		if err != nil {
			t.Fatalf("up (docker run) after SIGTERM: %v, want exit 0\n%s", err, out.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("up (docker run) still running 60s after SIGTERM\n%s", out.String())
	}
	testenv.WaitFor(t, 30*time.Second, "docker run --rm to remove the container", func() bool {
		ids, err := imagegentest.Docker(t, img.host, "ps", "-aq", "--filter", "ancestor="+img.ref)
		return err == nil && strings.TrimSpace(ids) == ""
	})
	if !strings.Contains(out.String(), "origin stopped") {
		t.Errorf("the origin in the container did not log its shutdown:\n%s", out.String())
	}
}

// fetchStream GETs base/stream.m3u8 and its newest segment and checks both are what an HLS
// player expects (types, #EXTM3U, MPEG-TS sync byte).
func fetchStream(t *testing.T, base string) {
	t.Helper()
	playlist, ctype := get(t, base+"/stream.m3u8")
	if !strings.HasPrefix(playlist, "#EXTM3U") || ctype != "application/vnd.apple.mpegurl" {
		t.Fatalf("GET /stream.m3u8: Content-Type %q, body:\n%s", ctype, playlist)
	}
	segment := ""
	sc := bufio.NewScanner(strings.NewReader(playlist))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			segment = l
		}
	}
	if segment == "" {
		t.Fatalf("playlist names no segment:\n%s", playlist)
	}
	body, ctype := get(t, base+"/"+segment)
	if len(body) < 188 || body[0] != 0x47 || ctype != "video/mp2t" {
		t.Fatalf("GET /%s: %d bytes, first %#x, Content-Type %q: want an MPEG-TS segment", segment, len(body), body[0], ctype)
	}
}

// get GETs url and returns the body and Content-Type; anything but 200 fails the test.
func get(t *testing.T, url string) (string, string) {
	t.Helper()
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v\n%s", url, resp.Status, err, b)
	}
	return string(b), resp.Header.Get("Content-Type")
}

// summary is the part of the swarm's --summary-json this test reads.
type summary struct {
	Clients struct {
		Peak int `json:"peak"`
	} `json:"clients"`
	Requests struct {
		Playlists int64 `json:"playlists"`
		Segments  int64 `json:"segments"`
	} `json:"requests"`
	Errors struct {
		Total       int64                       `json:"total"`
		Class       map[string]int64            `json:"by_class"`
		ObjectClass map[string]map[string]int64 `json:"by_object_class"`
		HTTPStatus  map[string]int64            `json:"http_by_status"`
	} `json:"errors"`
}

// runSwarm runs the swarm binary on the host (FFmpeg from PATH) against url and returns its
// end-of-run summary; a non-zero exit fails the test.
func runSwarm(t *testing.T, swarm, url string, clients int, d time.Duration) summary {
	t.Helper()
	testenv.RequireBinary(t, "ffmpeg")
	file := filepath.Join(t.TempDir(), "summary.json")
	ctx, cancel := context.WithTimeout(context.Background(), d+90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, swarm, "--clients", strconv.Itoa(clients), "--ramp-rate", "10",
		"--duration", d.String(), "--metrics-port", strconv.Itoa(testenv.FreePort(t)), "--summary-json", file, url)
	cmd.WaitDelay = 10 * time.Second
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("swarm: %v\n%s", err, b)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var s summary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("summary %s: %v", file, err)
	}
	return s
}

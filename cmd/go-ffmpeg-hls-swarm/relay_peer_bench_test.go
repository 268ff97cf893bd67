package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/proc"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/ffmpeg"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/swarm/orchestrator"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

// haproxyConfig is the peer relay of BenchmarkSwarm: HAProxy in HTTP mode on one thread (the
// swarm's proxy runs on one Go P at these sizes), one origin connection per client connection,
// response bodies moved with splice(2) as the swarm's proxy moves them. It measures nothing.
const haproxyConfig = `global
	nbthread 1
	maxconn 4000
	tune.pipesize 1048576
	profiling.tasks off
defaults
	mode http
	timeout connect 10s
	timeout client 60s
	timeout server 60s
	option splice-response
	http-reuse never
frontend swarm
	bind 127.0.0.1:%d
	default_backend origin
backend origin
	server origin %s
`

// benchPeer runs clients FFmpeg clients with the argv the swarm gives its own (client 0's, from
// orchestrator.CommandLine) through HAProxy instead of the swarm, ramped at the same rate, and
// reports HAProxy's CPU against the clients' over the same window as benchSwarm: what relaying
// the same requests and bytes costs on this machine when a relay built for it does nothing else.
// It returns that ratio (HAProxy over its clients).
func benchPeer(b *testing.B, playlist string, clients int) float64 {
	const window = 40 * time.Second
	haproxy := testenv.RequireBinary(b, "haproxy")
	u, err := url.Parse(playlist)
	if err != nil {
		b.Fatal(err)
	}
	argv, err := orchestrator.CommandLine(context.Background(), orchestrator.Config{URL: playlist, Clients: clients})
	if err != nil {
		b.Fatal(err)
	}
	listen := testenv.FreePort(b)
	argv = slices.Insert(argv, slices.Index(argv, "-i"), "-http_proxy", fmt.Sprintf("http://127.0.0.1:%d", listen))
	conf := filepath.Join(b.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(conf, fmt.Appendf(nil, haproxyConfig, listen, u.Host), 0o644); err != nil {
		b.Fatal(err)
	}

	var procs []*exec.Cmd // HAProxy, then the clients
	var ended []chan struct{}
	start := func(c *exec.Cmd) {
		if err := proc.Start(c, syscall.SIGKILL); err != nil { // dies with the benchmark
			b.Fatalf("start %s: %v", c.Path, err)
		}
		done := make(chan struct{})
		go func() { _ = c.Wait(); close(done) }()
		procs, ended = append(procs, c), append(ended, done)
	}
	defer func() {
		for i, c := range procs {
			_ = c.Process.Kill()
			<-ended[i]
		}
	}()
	start(exec.Command(haproxy, "-db", "-f", conf))
	testenv.WaitFor(b, 30*time.Second, "HAProxy listening", func() bool { return dialable(listen) })

	played := make([]*playedMedia, clients)
	for k := range played {
		// Both pipes are read, as the swarm reads its clients'; this process is not measured.
		er, ew, err := os.Pipe()
		if err != nil {
			b.Fatal(err)
		}
		pr, pw, err := os.Pipe()
		if err != nil {
			b.Fatal(err)
		}
		c := exec.Command(argv[0], argv[1:]...)
		c.Stderr, c.ExtraFiles = ew, []*os.File{pw} // fd 3 = ffmpeg.ProgressFD
		start(c)
		ew.Close()
		pw.Close()
		played[k] = &playedMedia{}
		go func() { _, _ = io.Copy(io.Discard, er); er.Close() }()
		go played[k].read(pr)
		time.Sleep(time.Second / 25) // --ramp-rate 25
	}
	testenv.WaitFor(b, time.Duration(60+clients/5)*time.Second, "every client playing", func() bool {
		for _, p := range played {
			if p.get() <= 0 {
				return false
			}
		}
		return true
	})
	time.Sleep(3 * time.Second) // as benchSwarm: past start-up

	measure := func() (relayNs, clientNs int64, media []time.Duration) {
		relayNs = runNs(procs[0].Process.Pid)
		for k, c := range procs[1:] {
			clientNs += runNs(c.Process.Pid)
			media = append(media, played[k].get())
		}
		return relayNs, clientNs, media
	}
	r0, c0, m0 := measure()
	t0 := time.Now()
	time.Sleep(window)
	r1, c1, m1 := measure()
	elapsed := time.Since(t0).Seconds()
	for i, done := range ended {
		select {
		case <-done:
			b.Fatalf("%s ended during the measurement", procs[i].Path)
		default:
		}
	}
	for k := range m1 {
		// Media arrives a segment (2 s) at a time: a client keeping up plays the window within two.
		if d := m1[k] - m0[k]; d < window-4*time.Second {
			b.Fatalf("client %d played %s of media in a %s window: not keeping up", k, d, window)
		}
	}
	perClient := func(ns int64) float64 { return float64(ns) / 1e9 / elapsed / float64(clients) }
	relay, ff := perClient(r1-r0), perClient(c1-c0)
	b.ReportMetric(100*relay, "haproxy-%core/client")
	b.ReportMetric(100*ff, "ffmpeg-%core/client")
	b.ReportMetric(100*relay/ff, "cpu-ratio-%")
	b.Logf("%-22s %14s %14s %8s", "peer, measuring nothing", "HAProxy", "FFmpeg clients", "ratio")
	b.Logf("%-22s %13.3f%% %13.3f%% %7.2f%%", "CPU, % of a core/client", 100*relay, 100*ff, 100*relay/ff)
	return relay / ff
}

// dialable reports whether something accepts connections on 127.0.0.1:port.
func dialable(port int) bool {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// playedMedia is how much media an FFmpeg client has written, from its -progress blocks.
type playedMedia struct {
	mu sync.Mutex
	d  time.Duration
}

func (p *playedMedia) read(r io.ReadCloser) {
	defer r.Close()
	_ = ffmpeg.ReadProgress(r, func(b ffmpeg.Progress) {
		if b.OutTimeKnown {
			p.mu.Lock()
			p.d = b.OutTime
			p.mu.Unlock()
		}
	})
}

func (p *playedMedia) get() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.d
}

package build

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/closure"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/imagegentest"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/testenv"
)

// BenchmarkImagegenCache is issue 8's "done when" 4 for the cache, on the FFmpeg closure
// fixture, with the real imagegen CLI (make bench-imagegen; -benchtime 1x):
//
//	cold push   imagegen build → registry, empty default cache, empty loopback registry
//	warm push   the same command again: the default cache holds every layer, the registry every blob
//	1 arch      imagegen build → oci of a data closure (no machine code), empty cache: CPU time
//	            of the process (user + system), least of 3
//	2 arches    the same closure for amd64 and arm64 (every path shared): CPU time, least of 3
//
// and reports warm/cold push time (goal ≤ 0.10) and 2-arch/1-arch CPU (goal ≤ 1.1), the
// latter both with the default cache and with --no-cache. The cold build against the Go floor
// is BenchmarkImagegenFFmpeg's.
func BenchmarkImagegenCache(b *testing.B) {
	root := imagegentest.FFmpegClosure(b)
	goBin := testenv.RequireBinary(b, "go")
	imagegen := filepath.Join(b.TempDir(), "imagegen")
	build := exec.Command(goBin, "build", "-o", imagegen, "./cmd/imagegen")
	build.Dir, build.Env = imagegentest.RepoRoot(b), append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build ./cmd/imagegen: %v\n%s", err, out)
	}
	// run runs imagegen with its default cache in xdg and returns its wall and CPU time.
	run := func(xdg string, args ...string) (wall, cpu time.Duration) {
		args = append([]string{"build", "-q"}, args...)
		cmd := exec.Command(imagegen, args...)
		cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+xdg)
		start := time.Now()
		out, err := cmd.CombinedOutput()
		wall = time.Since(start)
		if err != nil {
			b.Fatalf("imagegen %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		return wall, time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	// Two arches can share every path only when no path holds machine code (imagegen refuses
	// an x86-64 closure for arm64): a closure of data, as a base image whose program a derived
	// image adds.
	data, dataMB := dataClosure(b)
	dataSpec := filepath.Join(b.TempDir(), "data.json")
	if err := os.WriteFile(dataSpec, []byte(`{"name": "bench-data", "entrypoint": ["/app/run"], "derivedPrograms": ["/app/run"]}`), 0o644); err != nil {
		b.Fatal(err)
	}
	oneArch := []string{"--spec", dataSpec, "--arch", "amd64", "--root", "amd64=" + data}
	twoArches := []string{"--spec", dataSpec, "--arch", "amd64,arm64", "--root", "amd64=" + data, "--root", "arm64=" + data}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		reg := testenv.Registry(b)
		xdg := b.TempDir()
		push := []string{"--name", "ffmpeg", "--entrypoint", "/bin/ffmpeg", "--root", root, "-o", "registry:" + reg + "/ffmpeg:latest"}
		cold, _ := run(xdg, push...)
		warm, _ := run(xdg, push...)

		// CPU time: the least of three runs of each, alternately (the machine is shared).
		cpu := func(args ...string) time.Duration {
			args = append(args, "-o", "oci:"+filepath.Join(b.TempDir(), "out"))
			_, d := run(b.TempDir(), args...)
			return d
		}
		one, two, oneNC, twoNC := time.Duration(math.MaxInt64), time.Duration(math.MaxInt64), time.Duration(math.MaxInt64), time.Duration(math.MaxInt64)
		for range 3 {
			one = min(one, cpu(oneArch...))
			two = min(two, cpu(twoArches...))
			oneNC = min(oneNC, cpu(append(oneArch, "--no-cache")...))
			twoNC = min(twoNC, cpu(append(twoArches, "--no-cache")...))
		}

		b.Logf("imagegen CLI; pushes: the FFmpeg closure; arches: a %.0f MB data closure (/usr/share/javascript):", dataMB)
		b.Logf("  cold push (empty cache, empty registry)      %6.2f s", cold.Seconds())
		b.Logf("  warm push (default cache, registry has all)  %6.2f s", warm.Seconds())
		b.Logf("  1 arch → oci, CPU (default cache / none)     %6.2f / %.2f CPU-s", one.Seconds(), oneNC.Seconds())
		b.Logf("  2 arches sharing every path, CPU             %6.2f / %.2f CPU-s", two.Seconds(), twoNC.Seconds())
		b.Logf("  warm/cold push %.3f (goal <= 0.10); 2-arch/1-arch CPU %.2f with the default cache, %.2f with --no-cache (goal <= 1.10)",
			warm.Seconds()/cold.Seconds(), two.Seconds()/one.Seconds(), twoNC.Seconds()/oneNC.Seconds())
		b.ReportMetric(warm.Seconds()/cold.Seconds(), "warm/cold-push")
		b.ReportMetric(two.Seconds()/one.Seconds(), "2arch/1arch-cpu")
		b.ReportMetric(twoNC.Seconds()/oneNC.Seconds(), "2arch/1arch-cpu-nocache")
	}
}

// dataClosure puts copies of /usr/share/javascript's directories into the store (testdata/
// bench-data.nix: one store path each, and a root referencing them) and returns the root and the
// closure's size in MB.
func dataClosure(b *testing.B) (string, float64) {
	nixBuild := testenv.RequireBinary(b, "nix-build")
	ents, err := os.ReadDir("/usr/share/javascript")
	if err != nil || len(ents) == 0 {
		testenv.SkipOrFail(b, "no /usr/share/javascript to make a data closure of (%v)", err)
	}
	var dirs []string
	var mb float64
	for _, e := range ents {
		if e.IsDir() {
			dirs = append(dirs, fmt.Sprintf("%q", "javascript/"+e.Name()))
		}
	}
	out, err := exec.Command(nixBuild, "testdata/bench-data.nix", "--no-out-link", "--option", "substituters", "",
		"--arg", "dirs", "[ "+strings.Join(dirs, " ")+" ]").Output()
	if err != nil {
		b.Fatalf("nix-build testdata/bench-data.nix: %v", err)
	}
	root := strings.TrimSpace(string(out))
	g, err := closure.FromNix(context.Background(), testenv.RequireBinary(b, "nix"), []string{root})
	if err != nil {
		b.Fatal(err)
	}
	mb = float64(g.NarSize()) / 1e6
	return root, mb
}

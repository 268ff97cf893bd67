#!/usr/bin/env bash
# The whole test suite: static checks (gofmt, vet, shellcheck, nix parse) and every Go test,
# with a private Docker engine started for the run and stopped afterwards.
# Usage: scripts/test.sh [go test args…]   (default: ./...)
set -euo pipefail
cd "$(dirname "$0")/.."
PATH="$PATH:/usr/local/go/bin:/usr/sbin:/sbin"
gobin=$(go env GOPATH)/bin
export PATH="$PATH:$gobin"

fail() { echo "test: $*" >&2; exit 1; }

# The Kubernetes binaries of the Kubernetes test (cmd/go-ffmpeg-hls-swarm TestKubernetesShards):
# built once per machine into /var/cache/go-ffmpeg-hls-swarm (~8 min cold, a no-op warm), in the
# background while the checks and the first test packages run; the test waits for it.
k8s_build_log=$(mktemp /tmp/hls-swarm-k8s-build.XXXXXX)
scripts/k8s/build.sh >"$k8s_build_log" 2>&1 &
k8s_build=$!

echo "== static checks" >&2
mapfile -t gofiles < <(git ls-files '*.go')
unformatted=$(gofmt -l "${gofiles[@]}")
[ -z "$unformatted" ] || fail "gofmt would change: $unformatted (run gofmt -w)"
go vet ./...
mapfile -t shells < <( { git ls-files '*.sh'; echo .ci/run; } | sort -u)
shellcheck -S warning "${shells[@]}"
while IFS= read -r f; do
  nix-instantiate --parse "$f" >/dev/null || fail "$f does not parse"
done < <(git ls-files '*.nix')

# The compose file and the Prometheus config it mounts (Compose v1 here; the file also suits v2).
docker-compose -f docker-compose.yaml -f docker-compose.override.yaml config -q
docker-compose -f docker-compose.yaml -f docker-compose.override.yaml --profile grafana config -q   # with the Grafana service (docs/how-to/grafana.md)
docker-compose -f docker-compose.yaml -f deploy/compose/hostnet.yaml config -q
promtool check config deploy/prometheus.yml >/dev/null
promtool check config deploy/compose/prometheus-hostnet.yml >/dev/null
promtool check config deploy/prometheus/prometheus-k8s.yml >/dev/null
# The recording rules that aggregate the swarm's shards, and their unit tests.
promtool check rules deploy/prometheus/hls-swarm.rules.yml >/dev/null
promtool test rules deploy/prometheus/hls-swarm.rules.test.yml >/dev/null
# nix/vendor-hash must match what `go mod vendor` makes of go.mod/go.sum (buildGoModule's vendorHash).
scripts/nix-vendor-hash.sh --check
# The HTML report's embedded Chart.js is what `npm ci` of its lockfile installs, byte for byte.
scripts/check-report-assets.sh

echo "== docker engine" >&2
dd=$(mktemp -d /tmp/hls-swarm-dockerd.XXXXXX)
dockerd --iptables=false --bridge=none --storage-driver=overlay2 \
  --data-root "$dd/root" --exec-root "$dd/exec" --pidfile "$dd/pid" \
  -H "unix://$dd/sock" >"$dd/log" 2>&1 &
dpid=$!
cleanup() {
  # An unfinished Kubernetes build is left to finish: the next run reuses it (build.sh waits).
  wait "$k8s_build" 2>/dev/null || true
  rm -f "$k8s_build_log"
  kill "$dpid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$dpid" 2>/dev/null || break; sleep 0.2; done
  kill -9 "$dpid" 2>/dev/null || true
  # Whatever dockerd left mounted below $dd (overlay layers, exec/netns/default), deepest first.
  awk -v d="$dd/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r | xargs -r umount -l 2>/dev/null || true
  rm -rf "$dd" 2>/dev/null || true
}
trap cleanup EXIT
export DOCKER_HOST="unix://$dd/sock"
for _ in $(seq 1 300); do docker version >/dev/null 2>&1 && break; sleep 0.2; done
docker version >/dev/null || { cat "$dd/log" >&2; fail "dockerd did not start"; }

echo "== FFmpeg closure fixture" >&2
# Build it once here: several test packages use it, and two copies of make-closure.sh at once collide.
fixtures=${HLS_SWARM_FIXTURES:-$(cd .. && pwd)/shared/fixtures}
if [ -x "$fixtures/ffmpeg-closure/make-closure.sh" ]; then
  "$fixtures/ffmpeg-closure/make-closure.sh" >/dev/null
  export HLS_SWARM_FIXTURES="$fixtures"
else
  echo "test: no FFmpeg closure fixture at $fixtures (set HLS_SWARM_FIXTURES); its tests will skip, or fail under CI" >&2
fi

echo "== go test" >&2
if [ "$#" -eq 0 ]; then set -- ./...; fi
go test -count=1 -timeout 40m "$@"

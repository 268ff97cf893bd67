#!/usr/bin/env bash
# One-command demo: install what is missing (Debian), build, start the test origin on a free
# port, run a 20-client swarm against it for 30 s, print the verdict, stop everything.
# Usage: scripts/demo.sh   (env: DEMO_PROFILE=default DEMO_CLIENTS=20 DEMO_DURATION=30s
#                           DEMO_ORIGIN_ARGS="--size 640x360" for a small machine)
set -euo pipefail
cd "$(dirname "$0")/.."

profile=${DEMO_PROFILE:-default}
clients=${DEMO_CLIENTS:-20}
duration=${DEMO_DURATION:-30s}
read -r -a origin_args <<<"${DEMO_ORIGIN_ARGS:-}"

./scripts/install-deps.sh --demo
if ! command -v go >/dev/null 2>&1; then export PATH=$PATH:/usr/local/go/bin; fi

work=$(mktemp -d "${TMPDIR:-/tmp}/go-ffmpeg-hls-swarm-demo.XXXXXX")
origin_pid=""
# shellcheck disable=SC2317  # called through the trap
cleanup() {
  if [ -n "$origin_pid" ] && kill -0 "$origin_pid" 2>/dev/null; then
    kill -TERM "$origin_pid" 2>/dev/null || true
    wait "$origin_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "demo: building go-ffmpeg-hls-swarm" >&2
CGO_ENABLED=0 go build -trimpath -o "$work/go-ffmpeg-hls-swarm" ./cmd/go-ffmpeg-hls-swarm
bin=$work/go-ffmpeg-hls-swarm

# A port nothing answers on (for the swarm's /metrics); the origin picks its own with --port 0.
# Below the kernel's ephemeral range (ip_local_port_range, 32768 on Debian): an outgoing
# connection's local port answers nothing yet still makes bind fail ("address already in use").
free_port() {
  local p lo
  lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  [ "$lo" -gt 10000 ] 2>/dev/null || lo=32768
  for _ in $(seq 1 50); do
    p=$((10000 + RANDOM % (lo - 10000)))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
  done
  echo "demo: no free port found" >&2
  return 1
}

echo "demo: starting the test origin (profile $profile)" >&2
"$bin" origin --profile "$profile" --port 0 "${origin_args[@]}" >"$work/origin.log" 2>&1 &
origin_pid=$!

url=""
for _ in $(seq 1 300); do
  url=$(sed -n 's/.*msg="origin up".* url=\([^ ]*\).*/\1/p' "$work/origin.log" | head -n1)
  [ -n "$url" ] && break
  if ! kill -0 "$origin_pid" 2>/dev/null; then
    echo "demo: the origin failed to start:" >&2
    cat "$work/origin.log" >&2
    exit 1
  fi
  sleep 0.1
done
[ -n "$url" ] || { echo "demo: the origin did not come up in 30 s:" >&2; cat "$work/origin.log" >&2; exit 1; }

health=${url%/stream.m3u8}/health
for _ in $(seq 1 120); do
  "$bin" healthcheck --url "$health" --timeout 2s 2>/dev/null && break
  sleep 0.5
done
"$bin" healthcheck --url "$health" --timeout 2s || { echo "demo: $health is not healthy:" >&2; cat "$work/origin.log" >&2; exit 1; }
echo "demo: origin up at $url" >&2

metrics_port=$(free_port)
echo "demo: $clients clients for $duration (metrics on http://127.0.0.1:$metrics_port/metrics)" >&2
set +e
"$bin" --clients "$clients" --duration "$duration" --metrics-addr "127.0.0.1:$metrics_port" \
  --threshold 'error_rate<0.01' "$url"
rc=$?
set -e
if [ "$rc" -eq 0 ]; then
  echo "demo: VERDICT PASS ($clients clients, $duration against $url)"
else
  echo "demo: VERDICT FAIL (swarm exit code $rc); origin log:" >&2
  tail -n 20 "$work/origin.log" >&2
fi
exit "$rc"

#!/usr/bin/env bash
# Takes docs/images/dashboard.png: a real swarm run against the test origin on this machine,
# drawn in a tmux pane, captured with its colours (tmux capture-pane -e), turned into HTML by aha
# and photographed by headless Chromium. A docs tool, not a test: needs ffmpeg, nginx, tmux, aha
# and chromium (apt-get install -y aha chromium; the rest come from scripts/install-deps.sh).
# Usage: scripts/screenshot-dashboard.sh [OUT.png]   (make screenshot-dashboard)
set -euo pipefail
cd "$(dirname "$0")/.."
PATH="$PATH:/usr/local/go/bin"
out=${1:-docs/images/dashboard.png}
for tool in ffmpeg nginx tmux aha chromium; do
  command -v "$tool" >/dev/null || { echo "screenshot-dashboard: $tool is missing: apt-get install -y aha chromium tmux (ffmpeg and nginx: scripts/install-deps.sh)" >&2; exit 1; }
done

tmp=$(mktemp -d /tmp/screenshot-dashboard.XXXXXX)
origin_pid=
cleanup() {
  tmux -S "$tmp/tmux" kill-server 2>/dev/null || true
  if [ -n "$origin_pid" ]; then kill "$origin_pid" 2>/dev/null || true; wait "$origin_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/swarm" ./cmd/go-ffmpeg-hls-swarm
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$tmp/swarm" origin --profile default --port "$port" --size 640x360 >"$tmp/origin.log" 2>&1 &
origin_pid=$!
url="http://127.0.0.1:$port/stream.m3u8"
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fs "http://127.0.0.1:$port/health" >/dev/null || { echo "screenshot-dashboard: the origin did not come up:" >&2; tail "$tmp/origin.log" >&2; exit 1; }

cols=104 rows=23
printf 'set -g status off\nset -g remain-on-exit on\n' >"$tmp/tmux.conf"
TERM=xterm-256color tmux -S "$tmp/tmux" -f "$tmp/tmux.conf" new-session -d -s s -x "$cols" -y "$rows" -- \
  "$tmp/swarm" --clients 12 --ramp-rate 2 --duration 2m --progress-interval 2s --metrics-port 0 --log-level warn "$url"
sleep "${SCREENSHOT_AFTER:-50}"
tmux -S "$tmp/tmux" capture-pane -p -e -t s >"$tmp/screen.ansi"

{
  printf '<!DOCTYPE html><html><head><meta charset="utf-8"><style>'
  printf 'body{margin:0;background:#1d1f21;color:#d8d8d8}pre{margin:0;padding:14px 16px;'
  printf 'font:15px/1.25 "DejaVu Sans Mono",monospace}</style></head><body><pre>'
  aha --no-header --black <"$tmp/screen.ansi"
  printf '</pre></body></html>\n'
} >"$tmp/screen.html"
width=$((cols * 9 + 40)) height=$((rows * 19 + 30))
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size="$width,$height" \
  --screenshot="$tmp/shot.png" "file://$tmp/screen.html" >"$tmp/chromium.log" 2>&1 ||
  { echo "screenshot-dashboard: chromium failed:" >&2; tail "$tmp/chromium.log" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
cp "$tmp/shot.png" "$out"
echo "screenshot-dashboard: $out"

#!/usr/bin/env bash
# Checks the provenance of the charting library embedded in the HTML report: `npm ci` of the
# pinned package-lock.json (internal/swarm/htmlreport/assets/) must give byte-identical copies of
# every embedded file (the Chart.js bundle and the licences beside it). Run by scripts/test.sh.
# To update the library: change the version in package.json, run `npm install --save-exact` in a
# copy of that directory, copy package-lock.json and the files below back, and run this script.
# Usage: scripts/check-report-assets.sh
set -euo pipefail
cd "$(dirname "$0")/.."
assets=internal/swarm/htmlreport/assets
fail() { echo "check-report-assets: $*" >&2; exit 1; }
command -v npm >/dev/null || fail "npm is not installed (scripts/install-deps.sh installs it)"

# embedded file in $assets → the file npm installs
declare -A from=(
  [chart.umd.js]=node_modules/chart.js/dist/chart.umd.js
  [chart.js.LICENSE.md]=node_modules/chart.js/LICENSE.md
  [kurkle-color.LICENSE.md]=node_modules/@kurkle/color/LICENSE.md
)
# Nothing else may sit in the directory unchecked.
for f in "$assets"/*; do
  name=$(basename "$f")
  case $name in package.json | package-lock.json) continue ;; esac
  [ -n "${from[$name]:-}" ] || fail "$f is not checked against npm: add it to this script or remove it"
done

tmp=$(mktemp -d /tmp/check-report-assets.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cp "$assets/package.json" "$assets/package-lock.json" "$tmp/"
(cd "$tmp" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null) ||
  fail "npm ci of $assets/package-lock.json failed"
for name in "${!from[@]}"; do
  cmp -s "$tmp/${from[$name]}" "$assets/$name" ||
    fail "$assets/$name differs from ${from[$name]} as npm ci installs it from the lockfile"
done
version=$(node -p 'require(process.argv[1]).version' "$tmp/node_modules/chart.js/package.json")
echo "check-report-assets: chart.js $version: ${#from[@]} embedded files identical to npm ci's" >&2

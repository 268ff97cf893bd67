#!/usr/bin/env bash
# fresh-check.sh: proves the README's two commands on a brand-new Debian 12. It makes a clean bookworm root with
# debootstrap (cached under /var/cache/go-ffmpeg-hls-swarm, scripts/lib/rootfs.sh), gives it only what a user who
# cloned this repository has (git, make) and what every machine of this kind has outside apt (resolv.conf, its CA
# certificates, its apt sources), copies the committed project and ../shared into it (not the host's Go, Nix store or
# caches), and runs, each in a chroot with a clean environment:
#
#   demo          make demo                      (installs FFmpeg, nginx and Go itself)
#   install-deps  scripts/install-deps.sh        (everything the tests need, Nix configured)
#   nix-build     nix-build of a raw derivation
#   imagegen      the FFmpeg closure fixture → imagegen build → docker-archive → crane validate --tarball
#   go-test       go test -short ./...
#
# One PASS/FAIL line per step on stdout (a failing step also prints its log's last lines on stderr); the first
# failure stops the check. Everything it mounted, started or wrote is removed at the end, on failure and on
# Ctrl-C/SIGTERM too. Exit 0 when every step passed, 1 when one failed, 2 on bad usage.
#
# Usage: scripts/fresh-check.sh [--keep]     (--keep: leave the root in place for a look; say where)
# Env:   FRESH_CHECK_SUITE (default bookworm), TMPDIR (where the root goes, default /var/tmp), CI (passed on).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib/rootfs.sh
. "$repo/scripts/lib/rootfs.sh"

keep=false
case "${1:-}" in
  "") ;;
  --keep) keep=true ;;
  *) echo "usage: scripts/fresh-check.sh [--keep]" >&2; exit 2 ;;
esac
suite=${FRESH_CHECK_SUITE:-bookworm}
shared=$(cd "$repo/.." && pwd)/shared
[ "$(id -u)" = 0 ] || { echo "fresh-check: run as root (debootstrap, chroot, mounts)" >&2; exit 2; }
[ -d "$shared/fixtures" ] || { echo "fresh-check: no $shared/fixtures: clone the project with ../shared beside it" >&2; exit 2; }
command -v debootstrap >/dev/null || { echo "fresh-check: debootstrap is missing: apt-get install -y debootstrap" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/var/tmp}/fresh-check.XXXXXX")
root=$work/root
step_pid=""
# shellcheck disable=SC2317  # called through the traps
cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  [ -z "$step_pid" ] || kill -TERM "$step_pid" 2>/dev/null || true
  if $keep && [ -d "$root" ]; then
    rootfs_umount "$root" || true
    echo "fresh-check: kept $root (logs in $work); remove it with: rm -rf --one-file-system $work" >&2
  elif ! rootfs_cleanup "$root"; then
    echo "fresh-check: could not clean up $root" >&2
    rc=1
  else
    rm -rf --one-file-system "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "fresh-check: interrupted" >&2; exit 130' INT TERM HUP

# The environment a new login would have, plus CI and how this machine reaches the registries.
chroot_env=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 TERM=dumb
  HLS_SWARM_FIXTURES=/work/shared/fixtures)
for v in CI GOPROXY GOSUMDB GONOSUMDB GOPRIVATE GONOPROXY GOINSECURE http_proxy https_proxy no_proxy \
  HTTP_PROXY HTTPS_PROXY NO_PROXY; do
  [ -z "${!v:-}" ] || chroot_env+=("$v=${!v}")
done

started=$SECONDS
steps=0
# step NAME COMMAND…: runs COMMAND with its output in $work/NAME.log and prints one line. It runs in the
# background and is waited for, so that a signal reaches the trap at once.
step() {
  local name=$1 t0=$SECONDS rc=0
  shift
  "$@" >"$work/$name.log" 2>&1 </dev/null &
  step_pid=$!
  wait "$step_pid" || rc=$?
  step_pid=""
  if [ "$rc" = 0 ]; then
    steps=$((steps + 1))
    echo "fresh-check: PASS $name ($((SECONDS - t0)) s)"
    return 0
  fi
  echo "fresh-check: FAIL $name ($((SECONDS - t0)) s, exit $rc): $(grep -v '^[[:space:]]*$' "$work/$name.log" | tail -n1)"
  echo "fresh-check: last lines of the $name log:" >&2
  tail -n 25 "$work/$name.log" >&2
  echo "fresh-check: FAIL after $steps steps ($((SECONDS - started)) s)"
  exit 1
}
# in_root SCRIPT: bash -c SCRIPT in /work/main inside the root, with the clean environment.
in_root() { chroot "$root" /usr/bin/env -i "${chroot_env[@]}" /bin/bash -euo pipefail -c "cd /work/main; $1"; }

make_root() {
  rootfs_create "$suite" "$root"
  rootfs_mount "$root"
  # Services never start inside the root (docker.io's postinst would start dockerd): the chroot convention.
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 0755 "$root/usr/sbin/policy-rc.d"
  # What a user who cloned the project and types `make demo` has: git and make.
  chroot "$root" /usr/bin/env -i "${chroot_env[@]}" /bin/sh -c \
    'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends git make'
  for tool in go nix ffmpeg nginx docker; do
    if chroot "$root" /usr/bin/env -i "${chroot_env[@]}" /bin/sh -c "command -v $tool"; then
      echo "the new root already has $tool: it is not fresh" >&2
      return 1
    fi
  done
}

copy_project() {
  local head
  head=$(git -C "$repo" rev-parse --short HEAD)
  if [ -n "$(git -C "$repo" status --porcelain --untracked-files=no)" ]; then
    echo "note: $repo has uncommitted changes; the check uses the commit $head" >&2
  fi
  mkdir -p "$root/work"
  git clone -q --no-hardlinks "$repo" "$root/work/main"
  git -C "$root/work/main" checkout -q --detach "$head"
  cp -a "$shared" "$root/work/shared"
  echo "copied $head and ../shared"
}

echo "fresh-check: Debian $suite root in $root; project at $(git -C "$repo" rev-parse --short HEAD)"
step rootfs make_root
step copy copy_project
step demo in_root 'make demo'
step install-deps in_root 'scripts/install-deps.sh'
step nix-build in_root 'out=$(nix-build --no-out-link -E "builtins.derivation { name = \"fresh-check\";
    system = builtins.currentSystem; builder = \"/bin/sh\"; args = [ \"-c\" \"echo fresh > \$out\" ]; }")
  [ "$(cat "$out")" = fresh ] && echo "$out"'
step imagegen in_root 'ffmpeg=$(/work/shared/fixtures/ffmpeg-closure/make-closure.sh --work /tmp/fixture)
  go build -o /tmp/imagegen ./cmd/imagegen
  /tmp/imagegen build --spec profiles/images/ffmpeg-base.json --root "$ffmpeg" --output docker-archive:/tmp/ffmpeg.tar
  "$(go env GOPATH)/bin/crane" validate --tarball /tmp/ffmpeg.tar'
step go-test in_root 'go test -short -count=1 ./...'
echo "fresh-check: PASS ($steps steps, $((SECONDS - started)) s)"

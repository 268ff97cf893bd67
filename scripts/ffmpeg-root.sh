#!/usr/bin/env bash
# ffmpeg-root.sh: a second real FFmpeg, from another Debian release, runnable on this machine.
#
# Usage: scripts/ffmpeg-root.sh [SUITE]      (default trixie: FFmpeg 7.1; sid: 9.0; needs root, debootstrap, patchelf)
# Prints the path of an ffmpeg that runs here with the root's own loader and libraries, e.g.
#   ff=$(scripts/ffmpeg-root.sh) && "$ff" -version
#   HLS_SWARM_FFMPEG=$ff go test ./cmd/go-ffmpeg-hls-swarm -run TestSwarmIntegration
#
# The Debian root is made with scripts/lib/rootfs.sh (debootstrap, cached by suite+arch) and ffmpeg is installed in
# it with apt from the host's mirror; the result is kept in /var/cache/go-ffmpeg-hls-swarm/ffmpeg-SUITE-ARCH
# (never in the repository), so later calls only print the path. The printed program is a small wrapper that sets
# LD_LIBRARY_PATH to the root's library directories and execs a copy of the root's /usr/bin/ffmpeg whose ELF
# interpreter is the root's loader (patchelf): no chroot and no mounts, the process is still named "ffmpeg", and
# paths and sockets are the host's.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/rootfs.sh
. scripts/lib/rootfs.sh

suite=${1:-trixie}
case $suite in -h | --help) sed -n '2,13p' "$0"; exit 0 ;; esac
if [ "$(id -u)" != 0 ]; then echo "ffmpeg-root: needs root (debootstrap, chroot): run with sudo" >&2; exit 2; fi
for p in debootstrap patchelf tar; do
  command -v "$p" >/dev/null || { echo "ffmpeg-root: $p is missing: apt-get install -y $p" >&2; exit 3; }
done

final=$ROOTFS_CACHE/ffmpeg-$suite-$(rootfs_arch)
if [ -x "$final/bin/ffmpeg" ] && "$final/bin/ffmpeg" -hide_banner -version >/dev/null 2>&1; then
  echo "$final/bin/ffmpeg"
  exit 0
fi

mkdir -p "$ROOTFS_CACHE"
work=$(mktemp -d "$ROOTFS_CACHE/.ffmpeg-$suite.XXXXXX")
# shellcheck disable=SC2317  # called through the trap
cleanup() { rootfs_cleanup "$work/root" || true; rm -rf --one-file-system "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

root=$work/root
rootfs_create "$suite" "$root"
rootfs_mount "$root"
echo "ffmpeg-root: installing ffmpeg in the $suite root" >&2
if ! chroot "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive sh -c \
  'apt-get update -q && apt-get install -y -q --no-install-recommends ffmpeg && apt-get clean' >"$work/apt.log" 2>&1; then
  echo "ffmpeg-root: apt-get install ffmpeg failed in the $suite root; last lines:" >&2
  tail -n 5 "$work/apt.log" >&2
  exit 3
fi
# The loader the root's ffmpeg names (PT_INTERP), resolved inside the root (its symlinks are absolute), and every
# directory the root keeps shared libraries in.
interp=$(chroot "$root" readlink -f "$(patchelf --print-interpreter "$root/usr/bin/ffmpeg")")
rootfs_umount "$root"
libdirs=$(cd "$root" && find lib* usr/lib* \( -name 'lib*.so' -o -name 'lib*.so.*' \) \( -type f -o -type l \) -printf '%h\n' 2>/dev/null | sort -u)
libpath=""
for d in $libdirs; do libpath=${libpath:+$libpath:}$final/root/$d; done

# real/ffmpeg: the root's ffmpeg with the root's loader as its interpreter. bin/ffmpeg: a wrapper that finds the
# root's libraries first (LD_LIBRARY_PATH also beats the absolute RUNPATHs some Debian libraries carry, which would
# name the host's copies) and execs it, so the process is still called ffmpeg.
mkdir -p "$work/real" "$work/bin"
cp "$root/usr/bin/ffmpeg" "$work/real/ffmpeg"
patchelf --set-interpreter "$final/root$interp" "$work/real/ffmpeg"
printf '#!/bin/sh\n# FFmpeg of the Debian %s root beside this file (made by scripts/ffmpeg-root.sh).\nLD_LIBRARY_PATH=%s\nexport LD_LIBRARY_PATH\nexec %s "$@"\n' \
  "$suite" "$libpath" "$final/real/ffmpeg" >"$work/bin/ffmpeg"
chmod 0755 "$work/bin/ffmpeg"

rm -rf --one-file-system "$final"
mv "$work/root" "$final.tmp.$$"
mkdir -p "$final"
mv "$final.tmp.$$" "$final/root"
mv "$work/real" "$final/real"
mv "$work/bin" "$final/bin"
if ! "$final/bin/ffmpeg" -hide_banner -version >"$work/version" 2>&1; then
  echo "ffmpeg-root: the patched ffmpeg does not run:" >&2
  tail -n 3 "$work/version" >&2
  exit 3
fi
echo "ffmpeg-root: $(head -n1 "$work/version")" >&2
echo "$final/bin/ffmpeg"

# shellcheck shell=bash
# rootfs.sh: make, mount and remove Debian roots built with debootstrap. Sourced, never run:
#
#   . scripts/lib/rootfs.sh
#   rootfs_create trixie /tmp/x/root     # from the cache, or debootstrap once and cache it
#   rootfs_mount /tmp/x/root             # /proc, /sys, /dev, /dev/pts, /run inside it
#   chroot /tmp/x/root apt-get install -y ffmpeg
#   rootfs_umount /tmp/x/root            # kill what runs inside, unmount deepest first (keep the files)
#   rootfs_cleanup /tmp/x/root           # rootfs_umount, then remove the root
#
# The mirror is the one this machine's apt uses (read from /etc/apt at run time), and the apt.conf.d files that set
# Acquire:: options here are copied into the root, so the root reaches Debian's packages the same way the host does.
# debootstrap results are cached as tarballs keyed by suite and architecture under $ROOTFS_CACHE
# (default /var/cache/go-ffmpeg-hls-swarm), never in the repository. Needs root, debootstrap and tar.
# Every function returns non-zero with one line on stderr saying what failed.

ROOTFS_CACHE=${ROOTFS_CACHE:-/var/cache/go-ffmpeg-hls-swarm}

rootfs__say() { echo "rootfs: $*" >&2; }

# rootfs_mirror prints the URI of the host's main Debian archive: the first deb822 URIs: line (or one-line
# sources.list entry) whose path does not end in -security.
rootfs_mirror() {
  local f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    while read -r uri; do
      case $uri in */debian-security | */debian-security/) continue ;; esac
      echo "${uri%/}"
      return 0
    done < <(awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) print $i }' "$f")
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    uri=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/) { print $i; exit } }' "$f" |
      grep -v -- '-security/\?$' | head -n1 || true)
    if [ -n "$uri" ]; then
      echo "${uri%/}"
      return 0
    fi
  done
  rootfs__say "no Debian mirror found in /etc/apt/sources.list.d/*.sources or sources.list; configure apt first"
  return 1
}

# rootfs_arch prints the Debian architecture of this machine (amd64, arm64, …).
rootfs_arch() { dpkg --print-architecture; }

# rootfs_cache_file SUITE prints the cache tarball's path for SUITE on this architecture.
rootfs_cache_file() { echo "$ROOTFS_CACHE/rootfs-$1-$(rootfs_arch).tar"; }

# rootfs__apt_conf DIR SUITE MIRROR copies the host's apt.conf.d files that set Acquire:: options (validity checks,
# proxies) into the root. For the host's own suite it copies the host's source lists as they are (updates and
# security included, so the root installs the same versions); for another suite it writes one entry for SUITE.
rootfs__apt_conf() {
  local dir=$1 suite=$2 mirror=$3 f host_suite
  mkdir -p "$dir/etc/apt/apt.conf.d" "$dir/etc/apt/sources.list.d"
  for f in /etc/apt/apt.conf.d/*; do
    [ -f "$f" ] || continue
    if grep -q '^[[:space:]]*Acquire::' "$f"; then
      cp -- "$f" "$dir/etc/apt/apt.conf.d/"
    fi
  done
  rm -f "$dir/etc/apt/sources.list" "$dir/etc/apt/sources.list.d/"*
  host_suite=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
  if [ "$suite" = "$host_suite" ]; then
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
      [ -f "$f" ] && cp -- "$f" "$dir$f"
    done
    return 0
  fi
  printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$mirror" "$suite" >"$dir/etc/apt/sources.list.d/debian.sources"
}

# rootfs__machine DIR gives the root what every machine of this kind has outside apt: name resolution
# (/etc/resolv.conf, a loopback /etc/hosts) and the machine's own CA certificates (a network that intercepts TLS
# is trusted through /usr/local/share/ca-certificates; Debian's ca-certificates adds them when it is installed).
rootfs__machine() {
  local dir=$1
  cp -L /etc/resolv.conf "$dir/etc/resolv.conf" 2>/dev/null || true
  [ -s "$dir/etc/hosts" ] || printf '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n' >"$dir/etc/hosts"
  if [ -d /usr/local/share/ca-certificates ]; then
    mkdir -p "$dir/usr/local/share/ca-certificates"
    cp -a /usr/local/share/ca-certificates/. "$dir/usr/local/share/ca-certificates/"
  fi
}

# rootfs_create SUITE DIR makes a minimal Debian SUITE root in DIR (which must not exist or be empty), from the
# cached tarball when there is one, else with debootstrap (then cached, written under a temp name and renamed).
rootfs_create() {
  local suite=${1:?rootfs_create SUITE DIR} dir=${2:?rootfs_create SUITE DIR}
  local cache mirror tmp
  if [ "$(id -u)" != 0 ]; then rootfs__say "rootfs_create needs root (debootstrap, chroot)"; return 1; fi
  if [ -e "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
    rootfs__say "$dir exists and is not empty; remove it (rootfs_cleanup $dir) or pick another directory"
    return 1
  fi
  cache=$(rootfs_cache_file "$suite")
  mkdir -p "$dir"
  if [ ! -s "$cache" ]; then
    command -v debootstrap >/dev/null || { rootfs__say "debootstrap is missing: apt-get install -y debootstrap"; return 1; }
    mirror=$(rootfs_mirror) || return 1
    mkdir -p "$ROOTFS_CACHE"
    tmp=$(mktemp -d "$ROOTFS_CACHE/.debootstrap-$suite.XXXXXX") || return 1
    rootfs__say "debootstrap $suite ($(rootfs_arch)) into the cache; this takes a few minutes once"
    if ! debootstrap --variant=minbase --arch="$(rootfs_arch)" "$suite" "$tmp/root" "$mirror" >"$tmp/log" 2>&1; then
      rootfs__say "debootstrap $suite failed; last lines of its log:"
      tail -n 5 "$tmp/log" >&2
      rootfs_cleanup "$tmp/root" || true
      rm -rf --one-file-system "$tmp"
      return 1
    fi
    rootfs__apt_conf "$tmp/root" "$suite" "$mirror"
    rm -rf "$tmp/root/var/cache/apt/archives/"*.deb "$tmp/root/var/lib/apt/lists/"* 2>/dev/null || true
    if ! tar -C "$tmp/root" --numeric-owner -cf "$tmp/rootfs.tar" . || ! mv -f "$tmp/rootfs.tar" "$cache"; then
      rootfs__say "could not write the cache $cache"
      rootfs_cleanup "$tmp/root" || true
      rm -rf --one-file-system "$tmp"
      return 1
    fi
    rootfs_cleanup "$tmp/root" || true
    rm -rf --one-file-system "$tmp"
  fi
  if ! tar -C "$dir" --numeric-owner -xpf "$cache"; then
    rootfs__say "could not unpack $cache into $dir (remove the cache file if it is damaged)"
    return 1
  fi
  # Refresh the apt configuration: the host's mirror or options may have changed since the tarball was made.
  rootfs__apt_conf "$dir" "$suite" "$(rootfs_mirror)" || return 1
  rootfs__machine "$dir"
}

# rootfs_mount DIR mounts /proc, /sys, /dev, /dev/pts and tmpfs /dev/shm and /run inside the root DIR (skipping any that are
# mounted already), so that chroot DIR apt-get … works. rootfs_cleanup undoes it.
rootfs_mount() {
  local dir=${1:?rootfs_mount DIR}
  dir=$(realpath -e "$dir") || { rootfs__say "no root at $1"; return 1; }
  rootfs__mounted "$dir/proc" || mount -t proc proc "$dir/proc" || return 1
  rootfs__mounted "$dir/sys" || mount -t sysfs sysfs "$dir/sys" || return 1
  if ! rootfs__mounted "$dir/dev"; then
    mount --bind /dev "$dir/dev" || return 1
    # Where / is shared (systemd), what is mounted below the bind would show up in the host's /dev too.
    mount --make-private "$dir/dev" || return 1
  fi
  rootfs__mounted "$dir/dev/pts" || mount -t devpts -o newinstance,ptmxmode=0666 devpts "$dir/dev/pts" || return 1
  mkdir -p "$dir/dev/shm" "$dir/run"
  rootfs__mounted "$dir/dev/shm" || mount -t tmpfs -o mode=1777 tmpfs "$dir/dev/shm" || return 1
  rootfs__mounted "$dir/run" || mount -t tmpfs tmpfs "$dir/run" || return 1
}

rootfs__mounted() { findmnt -rn --mountpoint "$1" >/dev/null 2>&1; }

# rootfs__mounts_under DIR prints every mount point at or below DIR, deepest first.
rootfs__mounts_under() {
  local dir=$1
  findmnt -rn -o TARGET | awk -v d="$dir" '$0 == d || index($0, d "/") == 1 { print length($0) "\t" $0 }' |
    sort -rn | cut -f2-
}

# rootfs_umount DIR kills every process whose root directory is DIR or inside it and unmounts everything below DIR,
# deepest first, keeping the files (to reuse the root later). Fails when something stays mounted.
rootfs_umount() {
  local dir=${1:?rootfs_umount DIR} p root m left sig
  [ -e "$dir" ] || return 0
  dir=$(realpath -e "$dir") || return 1
  if [ "$dir" = / ]; then rootfs__say "refusing to unmount /"; return 1; fi
  for sig in TERM KILL; do
    left=0
    for p in /proc/[0-9]*; do
      root=$(readlink "$p/root" 2>/dev/null) || continue
      if [ "$root" = "$dir" ] || [ "${root#"$dir"/}" != "$root" ]; then
        kill -s "$sig" "${p#/proc/}" 2>/dev/null && left=$((left + 1))
      fi
    done
    [ "$left" = 0 ] && break
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      left=0
      for p in /proc/[0-9]*; do
        root=$(readlink "$p/root" 2>/dev/null) || continue
        if [ "$root" = "$dir" ] || [ "${root#"$dir"/}" != "$root" ]; then left=$((left + 1)); fi
      done
      [ "$left" = 0 ] && break
      sleep 0.5
    done
    [ "$left" = 0 ] && break
  done
  while read -r m; do
    [ -n "$m" ] || continue
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done < <(rootfs__mounts_under "$dir")
  if [ -n "$(rootfs__mounts_under "$dir")" ]; then
    rootfs__say "still mounted below $dir: $(rootfs__mounts_under "$dir" | tr '\n' ' ')"
    return 1
  fi
}

# rootfs_cleanup DIR does rootfs_umount DIR, then removes DIR (never crossing into another file system). Safe to
# call twice or on a half-made root; refuses to remove DIR while anything is still mounted below it.
rootfs_cleanup() {
  local dir=${1:?rootfs_cleanup DIR}
  [ -e "$dir" ] || return 0
  rootfs_umount "$dir" || { rootfs__say "not removing $dir"; return 1; }
  rm -rf --one-file-system "$dir"
}

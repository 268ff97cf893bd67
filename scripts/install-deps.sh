#!/usr/bin/env bash
# Installs what the demo and the test suite need on Debian 12 (idempotent; root or sudo):
# Debian packages (chromium: the HTML report's browser test), npm, Go >= 1.26 (the machine's if new enough, else the official toolchain taken
# from the Go module proxy by Debian's Go), a Nix configuration for this project's raw
# derivations (docs/explanation/nix.md, "Nix on Debian"), crane and ko, and binfmt for arm64.
# Usage: scripts/install-deps.sh [--demo]   (--demo: only what the demo needs)
set -euo pipefail

demo_pkgs=(ffmpeg nginx-light ca-certificates)
test_pkgs=(ffmpeg nginx-light nix-bin docker.io skopeo umoci runc qemu-user-static binfmt-support
  prometheus prometheus-nginx-exporter shellcheck patchelf tmux jq ca-certificates git make
  bash-completion zsh fish docker-compose debootstrap docker-registry apache2-utils
  chromium containerd containernetworking-plugins iptables conntrack openssl iproute2 haproxy)
# (containerd … iproute2: the single-node Kubernetes of scripts/k8s/cluster.sh; its binaries are
# built from the Go module proxy by scripts/k8s/build.sh, which scripts/test.sh runs. haproxy:
# the peer relay that make bench-swarm measures beside the swarm; its service is not used.)
# The Go this module needs (go.mod: client_golang v1.25 and x/sys v0.50 require go 1.26).
GO_MIN=1.26
GO_TOOLCHAIN_VERSION=1.26.8
CRANE_VERSION=v0.22.1
KO_VERSION=v0.19.1
COSIGN_VERSION=v3.1.3

demo=false
[ "${1:-}" = "--demo" ] && demo=true

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
log() { echo "install-deps: $*" >&2; }
die() { echo "install-deps: $*" >&2; exit 1; }

apt_updated=false
apt_install() {
  $apt_updated || { $SUDO apt-get update -q; apt_updated=true; }
  # --force-confold: a package that owns a file we configured (nix-setup-systemd owns
  # /etc/nix/nix.conf) keeps ours instead of asking on a terminal that is not there.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confold "$@"
}

install_packages() {
  local pkgs=("$@") missing=() p i
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  # nginx-light, nginx-full or nginx all provide /usr/sbin/nginx.
  if [ -x /usr/sbin/nginx ]; then
    for i in "${!missing[@]}"; do [ "${missing[$i]}" = nginx-light ] && unset 'missing[i]'; done
  fi
  [ "${#missing[@]}" -gt 0 ] || return 0
  log "apt-get install ${missing[*]}"
  apt_install "${missing[@]}"
}

# go_ok GO: GO runs and is at least $GO_MIN.
go_ok() {
  local v
  v=$("$1" env GOVERSION 2>/dev/null) || return 1 # go1.26.8
  v=${v#go}
  [ "$(printf '%s\n%s\n' "$GO_MIN" "$v" | sort -V | head -n1)" = "$GO_MIN" ]
}

# ensure_go puts a Go >= $GO_MIN on PATH: the one on PATH, /usr/local/go, or else the official
# toolchain, which Debian's own Go (1.19) downloads as a module from the Go module proxy
# (golang.org/toolchain@v0.0.1-goX.linux-ARCH: a complete GOROOT) into /usr/local/lib/goX,
# linked from /usr/local/bin.
ensure_go() {
  local g
  for g in "$(command -v go 2>/dev/null || true)" /usr/local/go/bin/go /usr/local/bin/go; do
    if [ -n "$g" ] && go_ok "$g"; then
      PATH="$(dirname "$g"):$PATH"
      export PATH
      return 0
    fi
  done
  local arch dest mod tmp dir
  arch=$(dpkg --print-architecture)
  dest=/usr/local/lib/go$GO_TOOLCHAIN_VERSION
  mod=golang.org/toolchain@v0.0.1-go$GO_TOOLCHAIN_VERSION.linux-$arch
  if [ ! -x "$dest/bin/go" ]; then
    log "no Go >= $GO_MIN here: fetching $mod with Debian's Go"
    install_packages golang-go ca-certificates
    tmp=$(mktemp -d)
    # shellcheck disable=SC2064  # expand now: tmp is local
    trap "chmod -R u+w '$tmp' 2>/dev/null; rm -rf '$tmp'" EXIT
    dir=$(cd "$tmp" && HOME=$tmp GOPATH=$tmp/gopath GOFLAGS=-modcacherw GOTOOLCHAIN=local \
      GO111MODULE=on /usr/lib/go/bin/go mod download -json "$mod" |
      sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p') || die "go mod download $mod failed (is the Go module proxy reachable? GOPROXY=$(/usr/lib/go/bin/go env GOPROXY))"
    [ -n "$dir" ] && [ -d "$dir/bin" ] || die "go mod download $mod gave no toolchain directory"
    $SUDO rm -rf "$dest.tmp"
    $SUDO cp -a "$dir" "$dest.tmp"
    $SUDO chmod -R u+w "$dest.tmp"
    $SUDO chmod a+x "$dest.tmp"/bin/* "$dest.tmp"/pkg/tool/*/*
    $SUDO mv "$dest.tmp" "$dest"
    rm -rf "$tmp"; trap - EXIT
  fi
  $SUDO ln -sfn "$dest/bin/go" /usr/local/bin/go
  $SUDO ln -sfn "$dest/bin/gofmt" /usr/local/bin/gofmt
  go_ok /usr/local/bin/go || die "$dest/bin/go does not run as Go >= $GO_MIN"
  export PATH="/usr/local/bin:$PATH"
  log "Go $(/usr/local/bin/go env GOVERSION) at $dest (linked as /usr/local/bin/go)"
}

# conf_get KEY: the value of the last KEY line of nix.conf (empty if none; exit 1 if no line).
conf_get() {
  local v
  v=$(sed -n "s/^[[:space:]]*${1}[[:space:]]*=[[:space:]]*//p" "$nixconf" 2>/dev/null | tail -n1)
  grep -qE "^[[:space:]]*${1}[[:space:]]*=" "$nixconf" 2>/dev/null || return 1
  printf '%s' "${v%"${v##*[![:space:]]}"}"
}

# conf_set KEY VALUE WHY: sets KEY in the new nix.conf (replacing its lines) and says so.
conf_set() {
  local key=$1 value=$2 why=$3 old
  if old=$(conf_get "$key"); then
    sed -i "/^[[:space:]]*${key}[[:space:]]*=/d" "$nixnew"
    changes+=("$key: '$old' -> '$value' ($why)")
  else
    changes+=("$key = $value ($why)")
  fi
  printf '%s = %s\n' "$key" "$value" >>"$nixnew"
}

# configure_nix makes Debian's nix-bin (single-user, root) build this project's raw derivations
# offline. It changes only what is missing or in the way, keeps a backup of a file it edits,
# and prints every change.
configure_nix() {
  nixconf=/etc/nix/nix.conf
  changes=()
  $SUDO mkdir -p /etc/nix
  nixnew=$(mktemp)
  if [ -f "$nixconf" ]; then
    cat "$nixconf" >"$nixnew"
    [ ! -s "$nixnew" ] || [ -z "$(tail -c1 "$nixnew")" ] || echo >>"$nixnew"
  fi

  local features group sandbox
  features=$(conf_get experimental-features || true)
  case " $features " in *" nix-command "*) ;; *) features="$features nix-command" ;; esac
  case " $features " in *" flakes "*) ;; *) features="$features flakes" ;; esac
  features=${features# }
  [ "$features" = "$(conf_get experimental-features || true)" ] ||
    conf_set experimental-features "$features" "the flake and nix path-info need them"
  # Offline: never ask a binary cache or the global flake registry.
  [ "$(conf_get substituters || echo unset)" = "" ] || conf_set substituters "" "no binary cache is reachable"
  [ "$(conf_get flake-registry || echo unset)" = "" ] || conf_set flake-registry "" "the global registry is not reachable"
  # nix-bin alone defaults to build-users-group = nixbld, a group only nix-setup-systemd makes.
  if group=$(conf_get build-users-group); then :; else group=nixbld; fi
  if [ -n "$group" ] && ! getent group "$group" >/dev/null; then
    conf_set build-users-group "" "group '$group' does not exist: build as root"
  fi
  # The raw derivations run the host's /bin/sh and read Debian's files: no sandbox.
  sandbox=$(conf_get sandbox || echo "true (default)")
  [ "$sandbox" = false ] || conf_set sandbox false "raw derivations use the host's /bin/sh and files"

  if [ "${#changes[@]}" -eq 0 ]; then
    rm -f "$nixnew"
    return 0
  fi
  if [ -f "$nixconf" ]; then
    local backup
    backup="$nixconf.bak.$(date +%Y%m%d%H%M%S)"
    $SUDO cp -p "$nixconf" "$backup"
    log "$nixconf: backup of the previous file at $backup"
  fi
  $SUDO install -m 0644 "$nixnew" "$nixconf.tmp"
  $SUDO mv "$nixconf.tmp" "$nixconf"
  rm -f "$nixnew"
  local c
  for c in "${changes[@]}"; do log "$nixconf: $c"; done
}

if $demo; then install_packages "${demo_pkgs[@]}"; else install_packages "${test_pkgs[@]}"; fi
ensure_go
if $demo; then log "ok (demo)"; exit 0; fi

configure_nix
# npm checks the HTML report's embedded Chart.js (scripts/check-report-assets.sh). Machines of
# this kind come with Node.js and npm; elsewhere Debian's.
command -v npm >/dev/null || install_packages nodejs npm
gobin=$(go env GOPATH)/bin
[ -x "$gobin/crane" ] || go install "github.com/google/go-containerregistry/cmd/crane@$CRANE_VERSION"
[ -x "$gobin/ko" ] || go install "github.com/google/ko@$KO_VERSION"
[ -x "$gobin/cosign" ] || go install "github.com/sigstore/cosign/v3/cmd/cosign@$COSIGN_VERSION"

# arm64 images run under qemu-user-static.
if [ -d /proc/sys/fs/binfmt_misc ] && [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
  $SUDO mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || true
fi
if [ -e /proc/sys/fs/binfmt_misc/register ] && [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  $SUDO update-binfmts --enable qemu-aarch64 || true
fi
log "ok"

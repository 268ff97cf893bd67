#!/usr/bin/env bash
# Installs what the demo and the test suite need on Debian 12 (idempotent; root or sudo).
# Usage: scripts/install-deps.sh [--demo]   (--demo: only what the demo needs)
set -euo pipefail

demo_pkgs=(ffmpeg nginx-light)
test_pkgs=(ffmpeg nginx-light nix-bin docker.io skopeo umoci runc qemu-user-static binfmt-support
  prometheus prometheus-nginx-exporter shellcheck patchelf tmux jq ca-certificates git make
  bash-completion zsh fish docker-compose)
CRANE_VERSION=v0.22.1
KO_VERSION=v0.19.1

pkgs=("${test_pkgs[@]}")
[ "${1:-}" = "--demo" ] && pkgs=("${demo_pkgs[@]}")

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# nginx-light, nginx-full or nginx all provide /usr/sbin/nginx.
if [ -x /usr/sbin/nginx ]; then
  for i in "${!missing[@]}"; do [ "${missing[$i]}" = nginx-light ] && unset 'missing[i]'; done
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: apt-get install ${missing[*]}" >&2
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
  export PATH=$PATH:/usr/local/go/bin
fi
command -v go >/dev/null || { echo "install-deps: Go is not installed (need Go >= 1.25 on PATH)" >&2; exit 1; }

[ "${1:-}" = "--demo" ] && exit 0

# Nix: flakes on, and never reach for a binary cache (this machine is offline).
if [ -d /etc/nix ] || $SUDO mkdir -p /etc/nix; then
  if ! grep -q '^experimental-features.*flakes' /etc/nix/nix.conf 2>/dev/null; then
    printf 'experimental-features = nix-command flakes\nsubstituters =\nflake-registry =\n' | $SUDO tee -a /etc/nix/nix.conf >/dev/null
  fi
fi

gobin=$(go env GOPATH)/bin
[ -x "$gobin/crane" ] || go install "github.com/google/go-containerregistry/cmd/crane@$CRANE_VERSION"
[ -x "$gobin/ko" ] || go install "github.com/google/ko@$KO_VERSION"

# arm64 images run under qemu-user-static.
if [ -d /proc/sys/fs/binfmt_misc ] && [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
  $SUDO mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || true
fi
if [ -e /proc/sys/fs/binfmt_misc/register ] && [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  $SUDO update-binfmts --enable qemu-aarch64 || true
fi
echo "install-deps: ok" >&2

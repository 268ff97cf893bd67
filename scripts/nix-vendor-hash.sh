#!/usr/bin/env bash
# Prints (or writes) the vendorHash that nix/package.nix reads from nix/vendor-hash: the NAR hash
# of the `vendor/` directory that `go mod vendor` makes for the committed tree, which is what
# buildGoModule's goModules fixed-output derivation produces. Computed offline with the local Go
# and `nix hash path`; if nixpkgs' Go writes a different vendor/modules.txt, `nix build` reports a
# hash mismatch: put its "got:" value into nix/vendor-hash.
# Usage: scripts/nix-vendor-hash.sh [--write | --check] [REV]   (REV default HEAD)
set -euo pipefail
cd "$(dirname "$0")/.."
PATH="$PATH:/usr/local/go/bin"

mode=print
case "${1:-}" in
  --write | --check) mode=${1#--}; shift ;;
esac
rev=${1:-HEAD}

tmp=$(mktemp -d /tmp/nix-vendor-hash.XXXXXX)
trap 'chmod -R u+w "$tmp" 2>/dev/null || true; rm -rf "$tmp"' EXIT
git archive "$rev" go.mod go.sum cmd internal profiles | tar -x -C "$tmp"
(cd "$tmp" && GOFLAGS=-mod=mod GOTOOLCHAIN=local GOWORK=off go mod vendor)
hash=$(nix --extra-experimental-features nix-command hash path "$tmp/vendor")

case $mode in
  print) echo "$hash" ;;
  write)
    echo "$hash" >nix/vendor-hash.tmp
    mv nix/vendor-hash.tmp nix/vendor-hash
    echo "nix/vendor-hash: $hash" ;;
  check)
    have=$(cat nix/vendor-hash)
    if [ "$have" != "$hash" ]; then
      echo "nix/vendor-hash is $have but $rev vendors to $hash: run scripts/nix-vendor-hash.sh --write" >&2
      exit 1
    fi
    echo "nix/vendor-hash is current ($hash)" ;;
esac

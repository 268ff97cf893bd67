#!/usr/bin/env bash
# Builds the Kubernetes binaries the Kubernetes test runs (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kubelet, kubectl) from the Go module proxy, once per
# machine and version, into a cache outside the repository:
#   $HLS_SWARM_CACHE/k8s-src-$K8S_VERSION/{go.mod,go.sum,etcd.go,tools.go,build.sh,build.log,bin/}
# (default cache /var/cache/go-ffmpeg-hls-swarm). A wrapper module requires k8s.io/kubernetes and
# replaces every staging module k8s.io/X with k8s.io/X v0.MINOR.PATCH; etcd comes from the same
# module graph. Cold: ~8 min on 2 cores, ~370 MB of binaries, ~3 GB of Go build cache. Warm (bin/
# complete and build.log ending in rc=0): a no-op. A build already running in that directory
# (another run of this script, or the same commands run by hand) is waited for, not repeated.
# Prints the bin directory on stdout.
# Usage: scripts/k8s/build.sh        env: K8S_VERSION (v1.36.3), ETCD_VERSION (v3.6.8), HLS_SWARM_CACHE
set -euo pipefail
PATH="$PATH:/usr/local/go/bin"
version=${K8S_VERSION:-v1.36.3}
etcd_version=${ETCD_VERSION:-v3.6.8}
cache=${HLS_SWARM_CACHE:-/var/cache/go-ffmpeg-hls-swarm}
dir=$cache/k8s-src-$version
bins=(etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl)
log() { echo "k8s-build: $*" >&2; }
die() { echo "k8s-build: $*" >&2; exit 1; }

[[ $version =~ ^v1\.([0-9]+)\.([0-9]+)$ ]] || die "K8S_VERSION=$version: want v1.MINOR.PATCH, e.g. v1.36.3"
minor=${BASH_REMATCH[1]} patch=${BASH_REMATCH[2]}
staging=v0.$minor.$patch

built() {
  local b
  [ -f "$dir/build.log" ] && [ "$(tail -n 1 "$dir/build.log")" = "rc=0" ] || return 1
  for b in "${bins[@]}"; do [ -x "$dir/bin/$b" ] || return 1; done
}

# busy: some process (a go build of this module) has its working directory in $dir.
busy() {
  local p
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/cwd" 2>/dev/null)" = "$dir" ] && return 0
  done
  return 1
}

if built; then echo "$dir/bin"; exit 0; fi
command -v go >/dev/null || die "no go on PATH: run scripts/install-deps.sh"
mkdir -p "$cache"
exec 9>"$cache/k8s-src-$version.lock"
if ! flock -n 9; then
  log "another scripts/k8s/build.sh is building $version: waiting for it"
  flock 9
fi
if ! built && busy; then
  log "a build is running in $dir (see build.log): waiting for it"
  for _ in $(seq 1 1800); do busy || break; sleep 2; done
  sleep 2 # its last line (rc=N) is written after the go build exits
fi
if built; then echo "$dir/bin"; exit 0; fi

log "building Kubernetes $version (etcd $etcd_version) in $dir: ~8 min on 2 cores, once per machine"
mkdir -p "$dir"
cd "$dir"
if [ ! -f go.mod ]; then
  {
    printf 'module hlsswarm.local/k8sbuild\n\ngo 1.26.0\n\nrequire (\n'
    printf '\tgo.etcd.io/etcd/server/v3 %s\n\tk8s.io/kubernetes %s\n)\n' "$etcd_version" "$version"
    # every staging module of k8s.io/kubernetes (its go.mod requires them at v0.0.0)
    for m in api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider \
      cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api \
      cri-client cri-streaming csi-translation-lib dynamic-resource-allocation endpointslice externaljwt \
      kms kube-aggregator kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics \
      mount-utils pod-security-admission sample-apiserver sample-controller streaming system-validators; do
      printf '\nreplace k8s.io/%s => k8s.io/%s %s\n' "$m" "$m" "$staging"
    done
  } >go.mod.tmp
  mv go.mod.tmp go.mod
fi
cat >etcd.go <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
cat >tools.go <<'GO'
//go:build tools

package main

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubelet"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
# The version stamped into every binary (else the node reports v0.0.0-master).
cat >build.sh <<SH
#!/bin/sh
set -e
cd "\$(dirname "\$0")"
export GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0
v=$version
ld="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ld="\$ld -X \$p.gitVersion=\$v -X \$p.gitMajor=1 -X \$p.gitMinor=$minor -X \$p.gitTreeState=clean -X \$p.buildDate=2026-01-01T00:00:00Z"
done
mkdir -p bin
go build -trimpath -ldflags "\$ld" -o bin/etcd .
for c in kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl; do
  go build -trimpath -ldflags "\$ld" -o bin/\$c k8s.io/kubernetes/cmd/\$c
done
SH
chmod +x build.sh
t0=$SECONDS
rc=0
./build.sh >build.log 2>&1 || rc=$?
echo "rc=$rc" >>build.log
[ "$rc" -eq 0 ] || { tail -n 20 build.log >&2; die "build failed (rc=$rc): $dir/build.log"; }
log "built in $((SECONDS - t0)) s: $(du -sh bin | cut -f1) in $dir/bin"
echo "$dir/bin"

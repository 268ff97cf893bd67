#!/usr/bin/env bash
# A real single-node Kubernetes on this machine, offline, everything it can be told to keep in DIR:
# certificates made with openssl, etcd, kube-apiserver, kube-controller-manager, kube-scheduler, a
# containerd of its own (its own socket, root and state: a Docker engine's containerd is left
# alone) and a kubelet. Images cannot be pulled: they are imported from docker-archive tarballs
# (`ctr -n k8s.io images import`), the pod sandbox (pause) image too. The binaries come from
# scripts/k8s/build.sh. No kube-proxy, no DNS: pods that need neither (an Indexed Job of swarm
# shards with hostNetwork, load on 127.0.0.1) run as on any cluster.
#
#   scripts/k8s/cluster.sh up DIR --pause PAUSE.tar [--image IMAGE.tar]…
#       starts it; ready when it returns (node Ready, the default service account made).
#       KUBECONFIG=DIR/kubeconfig; DIR/bin holds kubectl. Logs in DIR/logs.
#   scripts/k8s/cluster.sh down DIR
#       stops every process it started and removes what they made: containers and shims, mounts,
#       network namespaces, the CNI bridge, iptables rules and chains, cgroups, the kubelet's
#       /var/log/containers links, then DIR.
#
# What this host needs (docs/how-to/scale-out.md, FACTS): cgroup v1 here, so cgroupfs and
# failCgroupV1: false; no CAP_SYS_RESOURCE, so restrict_oom_score_adj; a non-loopback node IP
# (the kubelet refuses 127.0.0.1; the apiserver still reaches the kubelet on 127.0.0.1 through the
# node's Hostname address "localhost"); image GC off so imported images stay.
set -euo pipefail
PATH="$PATH:/usr/local/go/bin:/usr/sbin:/sbin"
here=$(cd "$(dirname "$0")" && pwd)
log() { echo "k8s-cluster: $*" >&2; }
die() { echo "k8s-cluster: $*" >&2; exit 1; }
usage() { die "usage: $0 up DIR --pause PAUSE.tar [--image IMAGE.tar]… | down DIR"; }

bridge=hlsk8s0          # the CNI bridge (only made for a pod without hostNetwork)
cni_net=hls-swarm-k8s   # the CNI network's name
node=localhost          # the node's name and Hostname address (see above)

# free_port: a TCP port no socket uses now, below the ephemeral range (so no outgoing
# connection takes it before the daemon binds it).
free_port() {
  local p lo
  read -r lo _ </proc/sys/net/ipv4/ip_local_port_range
  while :; do
    p=$((10000 + RANDOM % (lo - 10000)))
    ss -Htan "sport = :$p" | grep -q . || { echo "$p"; return; }
  done
}

# start NAME CMD…: a daemon in its own session, its output in DIR/logs/NAME.log, its pid recorded.
start() {
  local name=$1; shift
  setsid "$@" >"$dir/logs/$name.log" 2>&1 </dev/null &
  echo "$name $!" >>"$dir/pids"
}

# wait_for WHAT SECONDS CMD…: polls CMD until it succeeds.
wait_for() {
  local what=$1 secs=$2 i; shift 2
  for ((i = 0; i < secs * 5; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  die "$what not ready after ${secs}s (logs: $dir/logs)"
}

# iptables_snapshot FILE: every rule and chain of the tables the kubelet and CNI touch.
iptables_snapshot() {
  local ipt t
  for ipt in iptables ip6tables; do
    command -v "$ipt" >/dev/null || continue
    for t in filter nat mangle; do
      "$ipt" -t "$t" -S 2>/dev/null | sed "s|^|$ipt $t |" || true
    done
  done >"$1"
}

cert() { # cert NAME SUBJECT EXTENSIONS: a key and a certificate signed by the CA
  local name=$1 subj=$2 ext=$3
  openssl genrsa -out "$pki/$name.key" 2048 2>/dev/null
  openssl req -new -key "$pki/$name.key" -subj "$subj" -out "$pki/$name.csr"
  printf '%s\n' "$ext" >"$pki/$name.ext"
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 7 -extfile "$pki/$name.ext" -out "$pki/$name.crt" 2>/dev/null
}

# image_name TAR: the first RepoTag of a docker-archive, as containerd names it.
image_name() {
  local n
  n=$(tar -xOf "$1" manifest.json | jq -r '.[0].RepoTags[0] // empty') || die "$1 is not a docker-archive tarball"
  [ -n "$n" ] || die "$1 has no RepoTags: build it with a tag"
  case ${n%%/*} in
    *.*|*:*|localhost) ;;
    *) case $n in */*) n=docker.io/$n ;; *) n=docker.io/library/$n ;; esac ;;
  esac
  echo "$n"
}

up() {
  local pause="" images=()
  while [ $# -gt 0 ]; do
    case $1 in
      --pause) pause=$2; shift 2 ;;
      --image) images+=("$2"); shift 2 ;;
      *) usage ;;
    esac
  done
  [ -n "$pause" ] || usage
  [ "$(id -u)" -eq 0 ] || die "needs root (containerd, kubelet, mounts)"
  local t
  for t in "$pause" "${images[@]}"; do [ -f "$t" ] || die "$t: no such image tarball"; done
  for t in containerd ctr runc openssl jq ss iptables; do
    command -v "$t" >/dev/null || die "$t is not installed: run scripts/install-deps.sh"
  done
  [ -x /usr/lib/cni/bridge ] || die "/usr/lib/cni/bridge missing: apt-get install containernetworking-plugins"
  local node_ip
  node_ip=$(ip -4 -o addr show scope global | awk '{sub(/\/.*/, "", $4); print $4; exit}')
  [ -n "$node_ip" ] || die "no non-loopback IPv4 address for the node (the kubelet refuses 127.0.0.1)"

  local bin
  bin=$("$here/build.sh")
  mkdir -p "$dir"/{logs,pki,etcd,bin,containerd,cni/net.d,cni/ipam,runc,kubelet,pod-logs}
  dir=$(cd "$dir" && pwd)
  : >"$dir/pids"
  ln -sf "$bin"/* "$dir/bin/"
  pki=$dir/pki

  # What exists before, so that down removes only what this cluster added.
  iptables_snapshot "$dir/iptables.before"
  ls -1 /run/containerd/s 2>/dev/null >"$dir/shim-sockets.before" || true
  local c
  for c in /sys/fs/cgroup/*/; do [ -d "$c/kubepods" ] && echo "$c"; done >"$dir/cgroups.before" || true
  # Fixed host paths a kubelet or CNI may make whatever it is told: removed by down unless they were here.
  local f
  for f in /var/log/containers /var/log/pods /var/lib/kubelet /var/lib/cni /etc/kubernetes; do
    [ -e "$f" ] && echo "$f"
  done >"$dir/paths.before" || true

  log "certificates"
  openssl genrsa -out "$pki/ca.key" 2048 2>/dev/null
  openssl req -x509 -new -key "$pki/ca.key" -subj /CN=hls-swarm-k8s-ca -days 7 -out "$pki/ca.crt"
  cert apiserver /CN=kube-apiserver "subjectAltName=IP:127.0.0.1,IP:10.96.0.1,IP:$node_ip,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
extendedKeyUsage=serverAuth"
  cert admin "/O=system:masters/CN=admin" "extendedKeyUsage=clientAuth"
  openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
  openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null

  local etcd_port etcd_peer api_port cm_port sched_port kubelet_port healthz_port
  etcd_port=$(free_port) etcd_peer=$(free_port) api_port=$(free_port) cm_port=$(free_port)
  sched_port=$(free_port) kubelet_port=$(free_port) healthz_port=$(free_port)
  cat >"$dir/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: hls-swarm
  cluster: {server: "https://127.0.0.1:$api_port", certificate-authority: "$pki/ca.crt"}
users:
- name: admin
  user: {client-certificate: "$pki/admin.crt", client-key: "$pki/admin.key"}
contexts:
- name: hls-swarm
  context: {cluster: hls-swarm, user: admin}
current-context: hls-swarm
EOF
  local kc=$dir/kubeconfig kubectl=("$dir/bin/kubectl" --kubeconfig "$dir/kubeconfig")

  log "etcd, kube-apiserver"
  start etcd "$dir/bin/etcd" --name default --data-dir "$dir/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
    --initial-cluster "default=http://127.0.0.1:$etcd_peer" --log-level warn
  start kube-apiserver "$dir/bin/kube-apiserver" --etcd-servers "http://127.0.0.1:$etcd_port" \
    --bind-address 127.0.0.1 --secure-port "$api_port" --advertise-address "$node_ip" --cert-dir "$dir/apiserver" \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" --client-ca-file "$pki/ca.crt" \
    --service-account-issuer https://kubernetes.default.svc --service-account-key-file "$pki/sa.pub" \
    --service-account-signing-key-file "$pki/sa.key" --service-cluster-ip-range 10.96.0.0/24 \
    --authorization-mode Node,RBAC --kubelet-client-certificate "$pki/admin.crt" --kubelet-client-key "$pki/admin.key" \
    --kubelet-preferred-address-types Hostname --allow-privileged=true --profiling=false

  log "containerd"
  local sock=$dir/containerd/containerd.sock pause_name
  pause_name=$(image_name "$pause")
  cat >"$dir/containerd/config.toml" <<EOF
version = 2
root = "$dir/containerd/root"
state = "$dir/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "$sock"
[ttrpc]
  address = "$sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$dir/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$pause_name"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$dir/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$dir/cni/net.d"
EOF
  cat >"$dir/cni/net.d/10-$cni_net.conflist" <<EOF
{"cniVersion": "0.4.0", "name": "$cni_net", "plugins": [
  {"type": "bridge", "bridge": "$bridge", "isGateway": true, "ipMasq": false,
   "ipam": {"type": "host-local", "dataDir": "$dir/cni/ipam", "ranges": [[{"subnet": "10.244.0.0/24"}]],
            "routes": [{"dst": "0.0.0.0/0"}]}},
  {"type": "loopback"}]}
EOF
  start containerd containerd --config "$dir/containerd/config.toml"
  wait_for containerd 30 ctr --address "$sock" version
  for t in "$pause" "${images[@]}"; do
    ctr --address "$sock" -n k8s.io images import "$t" >>"$dir/logs/import.log" 2>&1 ||
      die "ctr images import $t failed: $dir/logs/import.log"
  done

  wait_for kube-apiserver 120 "${kubectl[@]}" get --raw /readyz
  log "kube-controller-manager, kube-scheduler, kubelet"
  start kube-controller-manager "$dir/bin/kube-controller-manager" --kubeconfig "$kc" --leader-elect=false \
    --bind-address 127.0.0.1 --secure-port "$cm_port" --service-account-private-key-file "$pki/sa.key" \
    --root-ca-file "$pki/ca.crt" --use-service-account-credentials
  start kube-scheduler "$dir/bin/kube-scheduler" --kubeconfig "$kc" --leader-elect=false \
    --bind-address 127.0.0.1 --secure-port "$sched_port"
  cat >"$dir/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: $kubelet_port
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $healthz_port
containerRuntimeEndpoint: unix://$sock
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
podLogsDir: $dir/pod-logs
volumePluginDir: $dir/kubelet/volume-plugins
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: "$pki/ca.crt"}
authorization: {mode: AlwaysAllow}
resolvConf: /etc/resolv.conf
serializeImagePulls: false
EOF
  start kubelet "$dir/bin/kubelet" --config "$dir/kubelet.yaml" --kubeconfig "$kc" --root-dir "$dir/kubelet" \
    --hostname-override "$node" --node-ip "$node_ip" --v 1
  wait_for "node $node" 120 "${kubectl[@]}" get node "$node"
  wait_for "node $node Ready" 120 "${kubectl[@]}" wait --for condition=Ready --timeout 1s node "$node"
  wait_for "service account default" 60 "${kubectl[@]}" get serviceaccount default
  log "ready: KUBECONFIG=$kc, kubectl in $dir/bin"
}

# stop NAME…: SIGTERM, then SIGKILL after 5 s, the recorded daemons of those names.
stop() {
  local name pid pids=() i
  for name in "$@"; do
    while read -r n pid; do [ "$n" = "$name" ] && kill -0 "$pid" 2>/dev/null && pids+=("$pid"); done <"$dir/pids"
  done
  [ "${#pids[@]}" -gt 0 ] || return 0
  kill -TERM "${pids[@]}" 2>/dev/null || true
  for ((i = 0; i < 25; i++)); do
    kill -0 "${pids[@]}" 2>/dev/null || return 0
    sleep 0.2
  done
  kill -KILL "${pids[@]}" 2>/dev/null || true
  for ((i = 0; i < 25; i++)); do kill -0 "${pids[@]}" 2>/dev/null || return 0; sleep 0.2; done
}

down() {
  [ -f "$dir/pids" ] || { [ -d "$dir" ] && rm -rf "$dir"; return 0; }
  dir=$(cd "$dir" && pwd)
  local sock=$dir/containerd/containerd.sock
  # The kubelet first, so it restarts nothing; then every container and sandbox it left.
  stop kubelet
  if ctr --address "$sock" version >/dev/null 2>&1; then
    local id
    for id in $(ctr --address "$sock" -n k8s.io tasks ls -q 2>/dev/null); do
      ctr --address "$sock" -n k8s.io tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true
    done
    for id in $(ctr --address "$sock" -n k8s.io tasks ls -q 2>/dev/null); do
      for _ in 1 2 3 4 5 6 7 8 9 10; do
        ctr --address "$sock" -n k8s.io tasks delete -f "$id" >/dev/null 2>&1 && break
        sleep 0.3
      done
    done
    for id in $(ctr --address "$sock" -n k8s.io containers ls -q 2>/dev/null); do
      ctr --address "$sock" -n k8s.io containers delete "$id" >/dev/null 2>&1 || true
    done
  fi
  stop containerd kube-controller-manager kube-scheduler
  stop kube-apiserver etcd
  # Shims whose containerd was this one (they outlive it by design).
  local p
  for p in /proc/[0-9]*; do
    case $(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) in
      *containerd-shim*"$sock"*) kill -KILL "${p#/proc/}" 2>/dev/null || true ;;
    esac
  done
  # Mounts below DIR (rootfs, shm, netns, volumes), deepest first.
  awk -v d="$dir/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
  ip link del "$bridge" 2>/dev/null || true
  # iptables rules and chains added since up (the kubelet's canaries, CNI's), rules before chains.
  if [ -f "$dir/iptables.before" ]; then
    local now ipt t rest
    now=$(mktemp)
    iptables_snapshot "$now"
    { grep -vxF -f "$dir/iptables.before" "$now" || true; } >"$now.new"
    grep ' -A ' "$now.new" | while read -r ipt t _ rest; do
      eval "$ipt -t $t -D $rest" 2>/dev/null || true # the rule's words as iptables -S quoted them
    done || true
    grep ' -N ' "$now.new" | while read -r ipt t _ rest; do
      "$ipt" -t "$t" -F "$rest" 2>/dev/null || true
      "$ipt" -t "$t" -X "$rest" 2>/dev/null || true
    done || true
    rm -f "$now.new"
    rm -f "$now"
  fi
  # The kubelet's cgroups (cgroupfs: kubepods in every hierarchy), deepest first.
  local c
  for c in /sys/fs/cgroup/*/; do
    [ -d "$c/kubepods" ] || continue
    grep -qxF "$c" "$dir/cgroups.before" 2>/dev/null && continue
    find "$c/kubepods" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
  # Fixed host paths: /var/log/containers links into DIR, shim sockets, CNI's cache of this network.
  find /var/log/containers -maxdepth 1 -type l -lname "$dir/*" -delete 2>/dev/null || true
  local f
  rm -rf /var/lib/cni/results/"$cni_net"-* /var/lib/cni/networks/"$cni_net" 2>/dev/null || true
  for f in /var/log/containers /var/log/pods /var/lib/kubelet /var/lib/cni /etc/kubernetes; do
    [ -e "$f" ] || continue
    grep -qxF "$f" "$dir/paths.before" 2>/dev/null && continue
    if [ "$f" = /var/lib/cni ]; then # shared with other CNI users: only what is empty now
      find "$f" -depth -type d -empty -delete 2>/dev/null || true
    else
      rm -rf --one-file-system "$f"
    fi
  done
  if [ -d /run/containerd/s ]; then
    for p in /run/containerd/s/*; do
      [ -e "$p" ] || continue
      grep -qxF "$(basename "$p")" "$dir/shim-sockets.before" 2>/dev/null || rm -f "$p"
    done
  fi
  rmdir /run/containerd/s /run/containerd 2>/dev/null || true # only when empty: another containerd may use them
  rm -rf --one-file-system "$dir"
}

[ $# -ge 2 ] || usage
cmd=$1 dir=$2
shift 2
case $cmd in
  up) mkdir -p "$dir"; up "$@" ;;
  down) down ;;
  *) usage ;;
esac

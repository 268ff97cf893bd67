#!/usr/bin/env bash
# Evaluates this flake without nixpkgs: read-only copies of nixpkgs.lib, microvm.nix,
# flake-utils and nix-systems replace the inputs (--override-input), and a generated stub
# nixpkgs (scripts/nix-eval/: lib = the real nixpkgs.lib, builders = raw derivations that record
# their arguments, nixosSystem = lib.evalModules over stub NixOS option declarations) stands in
# for nixpkgs. What it proves and what it cannot: docs/explanation/nix.md.
#
# Usage: scripts/nix-eval.sh [--build] [SRC]
#   --build also builds and runs outputs with the stub (the Go binaries with the host's Go and a
#   vendor/ dir made here, imagegen on a real closureInfo, the apps), see section 7.
#   SRC (default /tmp/nixsrc) holds plain source trees nixpkgs.lib/ microvm/ flake-utils/ systems/
#   (e.g. `git archive` of the fetched repositories); each can also be given as NIXPKGS_LIB,
#   MICROVM, FLAKE_UTILS, NIX_SYSTEMS. Needs nix (2.8 works) with flakes, jq, git; --build also
#   Go, crane and skopeo. KEEP=1 keeps the generated stub and project copy for a look.
set -euo pipefail
cd "$(dirname "$0")/.."
PATH="$PATH:/usr/local/go/bin:/root/go/bin"
build=false
if [ "${1:-}" = --build ]; then build=true; shift; fi
src=${1:-/tmp/nixsrc}
NIXPKGS_LIB=${NIXPKGS_LIB:-$src/nixpkgs.lib}
MICROVM=${MICROVM:-$src/microvm}
FLAKE_UTILS=${FLAKE_UTILS:-$src/flake-utils}
NIX_SYSTEMS=${NIX_SYSTEMS:-$src/systems}
for d in "$NIXPKGS_LIB/lib" "$MICROVM/nixos-modules" "$FLAKE_UTILS/lib.nix" "$NIX_SYSTEMS/default.nix"; do
  [ -e "$d" ] || { echo "nix-eval: $d is missing: fetch the inputs (see docs/explanation/nix.md)" >&2; exit 2; }
done

work=$(mktemp -d /tmp/nix-eval.XXXXXX)
if [ -n "${KEEP:-}" ]; then echo "keeping $work"; else trap 'chmod -R u+w "$work" 2>/dev/null || true; rm -rf "$work"' EXIT; fi

# The stub nixpkgs: the templates plus the real lib.
cp -r scripts/nix-eval "$work/nixpkgs"
rm -rf "$work/nixpkgs/check"
cp -r "$NIXPKGS_LIB/lib" "$work/nixpkgs/lib"
mkdir -p "$work/spectrum" && echo "stub for microvm's spectrum input" >"$work/spectrum/README"
# This repository as it is on disk (tracked and untracked, not ignored) files.
mkdir -p "$work/project"
git ls-files -z -co --exclude-standard | tar --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -x -C "$work/project"
# The image specs nix/per-system.nix names must exist (imagegen reads them at build time).
for spec in go-ffmpeg-hls-swarm swarm-client test-origin test-origin-enhanced ffmpeg-base prometheus nginx-exporter; do
  if [ ! -f "profiles/images/$spec.json" ]; then
    echo "WARN profiles/images/$spec.json is missing: evaluating with a placeholder (a real build would fail)"
    mkdir -p "$work/project/profiles/images"
    echo "{\"name\": \"placeholder-$spec\"}" >"$work/project/profiles/images/$spec.json"
  fi
done
if $build; then
  # What nixpkgs' goModules would hold, and the switch that makes the stub builders real.
  (cd "$work/project" && GOFLAGS=-mod=mod GOTOOLCHAIN=local go mod vendor -o "$work/nixpkgs/vendor")
  touch "$work/nixpkgs/real-builds"
  mkdir -p /tmp/nix-eval-gocache && chmod 1777 /tmp/nix-eval-gocache
fi
# The scenario flake.
mkdir -p "$work/check"
cp scripts/nix-eval/check/flake.nix "$work/check/flake.nix"

common=(--option substituters '' --option flake-registry '' --no-write-lock-file)
flake=(--override-input nixpkgs "path:$work/nixpkgs"
  --override-input systems "path:$NIX_SYSTEMS"
  --override-input flake-utils "path:$FLAKE_UTILS"
  --override-input microvm "path:$MICROVM"
  --override-input microvm/spectrum "path:$work/spectrum")
check=(--override-input project "path:$work/project"
  --override-input project/nixpkgs "path:$work/nixpkgs"
  --override-input project/systems "path:$NIX_SYSTEMS"
  --override-input project/flake-utils "path:$FLAKE_UTILS"
  --override-input project/microvm "path:$MICROVM"
  --override-input project/microvm/spectrum "path:$work/spectrum"
  --override-input nixpkgs "path:$work/nixpkgs"
  --override-input microvm "path:$MICROVM")
ev() { nix eval "${common[@]}" "${flake[@]}" "path:$work/project#$1" "${@:2}" 2>"$work/err"; }
evc() { nix eval "${common[@]}" "${check[@]}" "path:$work/check#$1" "${@:2}" 2>"$work/err"; }

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; [ -s "$work/err" ] && sed 's/^/     /' "$work/err" | tail -n 8; return 0; }
same() { # name expected actual
  # diff exits 1 on a difference: without `|| true`, set -e would end the script at the first FAIL.
  if [ "$2" = "$3" ]; then ok "$1"; else bad "$1"; diff <(echo "$2" | jq -S .) <(echo "$3" | jq -S .) | sed 's/^/     /' | head -n 20 || true; fi
}

echo "nix: $(nix --version); nixpkgs.lib $(nix eval --raw --impure --expr "(import $NIXPKGS_LIB/lib).trivial.release")"

# 1. Profile lists, as Nix reads them, against jq's reading of the same files.
origins=$(jq -c '[.profiles[].name]' profiles/origin.json)
swarms=$(jq -c '[.profiles[].name]' profiles/swarm.json)
same "lib.originProfileNames = profiles/origin.json" "$origins" "$(ev lib.originProfileNames --json)"
same "lib.swarmProfileNames = profiles/swarm.json" "$swarms" "$(ev lib.swarmProfileNames --json)"

# 2. Every generated attribute name on all four systems, against names built here from the JSON.
images='["go-ffmpeg-hls-swarm-container","swarm-client-container","test-origin-container","ffmpeg-base-container","prometheus-container","nginx-exporter-container"]'
expect() { # kind system
  jq -nc --argjson o "$origins" --argjson s "$swarms" --argjson i "$images" --arg kind "$1" --arg sys "$2" '
    ($sys | endswith("-linux")) as $linux
    | ([$o[] | "test-origin-\(.)"] + [$s[] | "swarm-client-\(.)"]) as $runners
    | ([$o[] | "test-origin-vm-\(.)"] + ["test-origin-vm"]) as $vms
    | ($i + ["test-origin-container-enhanced"]) as $allimg
    | if $kind == "packages" then
        ["default","go-ffmpeg-hls-swarm","imagegen","test-origin","swarm-client"] + $runners + $i
        + (if $linux then ["test-origin-container-enhanced","test-origin-iso","test-origin-iso-cloud-init"] + $vms else [] end)
      elif $kind == "apps" then
        ["default","up","imagegen","generate-completion","test-origin","swarm-client"] + $runners
        + [$allimg[] | "load-\(.)", "push-\(.)"] + [$i[] | "push-multiarch-\(.)"] + $vms
      elif $kind == "checks" then ["gofmt","vet","unit-tests","shellcheck","nix-eval"]
      elif $kind == "legacyPackages" then ["checks-quick","checks-build","checks-full"]
      elif $kind == "devShells" then ["default"]
      else [] end | sort'
}
for sys in x86_64-linux aarch64-linux x86_64-darwin aarch64-darwin; do
  for kind in packages apps checks legacyPackages devShells; do
    same "$kind.$sys names" "$(expect "$kind" "$sys")" "$(ev "$kind.$sys" --json --apply 'x: builtins.sort builtins.lessThan (builtins.attrNames x)')"
  done
  if ev "formatter.$sys.name" --raw >/dev/null; then ok "formatter.$sys"; else bad "formatter.$sys"; fi
done

# 3. Instantiate (no build) every package and app program; the NixOS-based ones use the stub
#    nixosSystem. The MicroVM runners need microvm.nix's whole guest module over real NixOS
#    modules: reported, not expected to evaluate here.
for sys in x86_64-linux aarch64-linux x86_64-darwin aarch64-darwin; do
  filter='ps: builtins.mapAttrs (n: p: p.drvPath) (removeAttrs ps (builtins.filter (n: builtins.substring 0 14 n == "test-origin-vm") (builtins.attrNames ps)))'
  if n=$(ev "packages.$sys" --json --apply "$filter" | jq length); then ok "packages.$sys: $n drvPaths (MicroVMs excepted)"; else bad "packages.$sys drvPaths"; fi
  afilter='as: builtins.mapAttrs (n: a: assert a.type == "app" && a.meta.description != ""; a.program) (removeAttrs as (builtins.filter (n: builtins.substring 0 14 n == "test-origin-vm") (builtins.attrNames as)))'
  if out=$(ev "apps.$sys" --json --apply "$afilter"); then
    if echo "$out" | jq -e 'all(.[]; startswith("/nix/store/"))' >/dev/null; then ok "apps.$sys: $(echo "$out" | jq length) programs in the store (MicroVMs excepted)"; else bad "apps.$sys program outside the store"; fi
  else bad "apps.$sys programs"; fi
  case $sys in
    *-darwin)
      if ev "apps.$sys.test-origin-vm.program" --raw >/dev/null; then ok "apps.$sys.test-origin-vm is a stand-in"; else bad "apps.$sys.test-origin-vm stand-in"; fi ;;
    *-linux)
      if ev "packages.$sys.test-origin-vm-default.drvPath" --raw >/dev/null; then ok "packages.$sys.test-origin-vm-default evaluates";
      else echo "n/a  packages.$sys.test-origin-vm-default: microvm's runner needs real NixOS modules ($(grep -m1 -o "error: .*" "$work/err" | cut -c1-100))"; fi ;;
  esac
  # checks.nix-eval instantiates every package, the MicroVMs too: on Linux it shares their fate.
  case $sys in *-linux) skip='[ "nix-eval" ]' ;; *) skip='[ ]' ;; esac
  if ev "checks.$sys" --json --apply "cs: builtins.mapAttrs (n: c: c.drvPath) (removeAttrs cs $skip)" >/dev/null; then ok "checks.$sys instantiate (except $skip)"; else bad "checks.$sys instantiate"; fi
done

# nix flake check without building: Nix 2.8's own checks of the output structure, all systems.
if nix flake check "${common[@]}" "${flake[@]}" --no-build "path:$work/project" 2>"$work/err"; then ok "nix flake check --no-build (Nix $(nix --version | awk '{print $3}'))";
elif grep -q "boot.blacklistedKernelModules" "$work/err"; then echo "n/a  nix flake check --no-build stops at the MicroVM packages (microvm.nix needs real NixOS modules)";
else bad "nix flake check --no-build"; fi

# 4. What the wiring passes on (recorded arguments of the stub builders, x86_64-linux).
rec() { ev "packages.x86_64-linux.$1.recorded" --raw; }
go=$(rec go-ffmpeg-hls-swarm)
same "buildGoModule subPackages" '["cmd/go-ffmpeg-hls-swarm"]' "$(echo "$go" | jq -c .subPackages)"
same "buildGoModule env.CGO_ENABLED" '0' "$(echo "$go" | jq -c .env.CGO_ENABLED)"
same "buildGoModule vendorHash = nix/vendor-hash" "\"$(cat nix/vendor-hash)\"" "$(echo "$go" | jq -c .vendorHash)"
if echo "$go" | jq -e '.ldflags | any(startswith("-X github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/version.Version="))' >/dev/null; then ok "version ldflags"; else bad "version ldflags"; fi
same "meta.mainProgram" '"go-ffmpeg-hls-swarm"' "$(ev packages.x86_64-linux.default.meta.mainProgram --json)"
same "imagegen meta.mainProgram" '"imagegen"' "$(ev packages.x86_64-linux.imagegen.meta.mainProgram --json)"
if rec test-origin-low-latency | jq -e '.text | contains("go-ffmpeg-hls-swarm origin --profile low-latency")' >/dev/null; then ok "test-origin-low-latency runs origin --profile low-latency"; else bad "test-origin-low-latency text"; fi
if rec swarm-client-burst | jq -e '.text | contains("go-ffmpeg-hls-swarm --profile burst")' >/dev/null; then ok "swarm-client-burst runs --profile burst"; else bad "swarm-client-burst text"; fi
img=$(rec go-ffmpeg-hls-swarm-container)
if echo "$img" | jq -e '.buildCommand | test("^imagegen build --spec /nix/store/[a-z0-9]{32}-go-ffmpeg-hls-swarm.json --arch amd64 --closure .?amd64=/nix/store/[a-z0-9]{32}-closure-info.? --quiet --output \"docker-archive:\\$TMPDIR/image.tar\"")' >/dev/null; then
  ok "mkImage: imagegen build --spec … --arch amd64 --closure amd64=<closureInfo> --output docker-archive:…"
else bad "mkImage command"; echo "$img" | jq -r .buildCommand | sed 's/^/     /'; fi
# The compose stack's Prometheus and nginx exporter: their spec, and the roots as per-system.nix
# names them (outputs too: promtool is prometheus' "cli" output), from the Linux package set.
roots='rs: map (r: "${r.name}:${r.outputName}:${r.system}") rs'
for i in prometheus:'["prometheus:out","prometheus:cli"]' nginx-exporter:'["prometheus-nginx-exporter:out","go-ffmpeg-hls-swarm-0.1.0:out"]'; do
  spec=${i%%:*} want=${i#*:}
  for sys in x86_64-linux aarch64-darwin; do
    case $sys in x86_64-linux) a=amd64 ls=x86_64-linux ;; *) a=arm64 ls=aarch64-linux ;; esac
    if ev "packages.$sys.$spec-container.recorded" --raw | jq -e --arg s "$spec" --arg a "$a" \
      '.buildCommand | test("^imagegen build --spec /nix/store/[a-z0-9]{32}-\($s).json --arch \($a) --closure .?\($a)=/nix/store/[a-z0-9]{32}-closure-info.? --quiet ")' >/dev/null; then
      ok "$sys $spec-container: imagegen build --spec …-$spec.json --arch $a --closure $a=<closureInfo>"
    else bad "$sys $spec-container imagegen command"; fi
    same "$sys $spec-container roots" "$(echo "$want" | jq -c --arg ls "$ls" 'map(. + ":" + $ls)')" "$(ev "packages.$sys.$spec-container.roots" --json --apply "$roots")"
  done
done
same "aarch64-darwin images hold aarch64-linux binaries (arch arm64)" '"arm64"' "$(ev packages.aarch64-darwin.test-origin-container.arch --json)"
enh=$(ev packages.x86_64-linux.test-origin-container-enhanced.recorded --raw)
enhroot=$(ev packages.x86_64-linux.test-origin-container-enhanced.roots --raw --apply 'rs: (builtins.head rs).recorded')
if echo "$enh" | jq -e '.buildCommand | test("--spec /nix/store/[a-z0-9]{32}-test-origin-enhanced.json")' >/dev/null &&
  jq -e '.entrypoint == ["/bin/init"]' profiles/images/test-origin-enhanced.json >/dev/null &&
  echo "$enhroot" | jq -e '.buildCommand | test("ln -s /nix/store/[a-z0-9]{32}-nixos-system-hls-origin/init \\$out/bin/init")' >/dev/null &&
  echo "$enhroot" | jq -e '.buildCommand | test("ln -s /nix/store/[a-z0-9]{32}-go-ffmpeg-hls-swarm-0.1.0/bin/go-ffmpeg-hls-swarm \\$out/bin/go-ffmpeg-hls-swarm")' >/dev/null; then
  ok "enhanced container: entrypoint /bin/init -> <toplevel>/init, /bin/go-ffmpeg-hls-swarm for the healthcheck"
else bad "enhanced container root"; echo "$enh" | jq -r .buildCommand; echo "$enhroot" | jq -r .buildCommand; fi
iso=$(ev packages.x86_64-linux.test-origin-iso-cloud-init.recorded --raw)
same "ISO: EFI+USB bootable, volume id" '{"makeEfiBootable":true,"makeUsbBootable":true,"volumeID":"HLS_ORIGIN"}' "$(echo "$iso" | jq -c .isoImage)"
same "ISO: openssh settings" '{"KbdInteractiveAuthentication":false,"PasswordAuthentication":false,"PermitRootLogin":"prohibit-password"}' "$(echo "$iso" | jq -c '.openssh.settings')"
same "ISO cloud-init variant enables cloud-init" '{"enable":true,"network":{"enable":true}}' "$(echo "$iso" | jq -c '."cloud-init"')"
same "ISO file name" '"hls-origin-default-cloud-init.iso"' "$(ev packages.x86_64-linux.test-origin-iso-cloud-init.name --json)"
if ev apps.x86_64-linux.up.program --raw >/dev/null && rec_up=$(nix eval "${common[@]}" "${flake[@]}" "path:$work/project#apps.x86_64-linux.up.program" --raw 2>/dev/null); then ok "apps.up program $rec_up"; else bad "apps.up"; fi

# 5. The NixOS module through lib.evalModules (stub option declarations), and microvm.nix's
#    real option declarations + assertions for the MicroVM module.
res=$(evc result --json) || { bad "scenario flake"; res='{}'; }
want="/nix/store/STORE-go-ffmpeg-hls-swarm-0.1.0/bin/go-ffmpeg-hls-swarm origin --profile low-latency --port 9000 --listen 0.0.0.0 --dir /run/hls-origin --log-dir /var/log/hls-origin"
same "module ExecStart" "$(jq -nc --arg w "$want" '$w')" "$(echo "$res" | jq -c '.module.execStart | sub("/nix/store/[a-z0-9]{32}-"; "/nix/store/STORE-")')"
same "module unit PATH has ffmpeg and nginx" '["ffmpeg-full","nginx"]' "$(echo "$res" | jq -c .module.path)"
same "module firewall opens the origin port" '[9000]' "$(echo "$res" | jq -c .module.firewall)"
same "node exporter" '{"enable":true,"openFirewall":true,"port":9100}' "$(echo "$res" | jq -c .module.nodeExporter)"
same "nginx exporter scrapes the origin's stub_status" '{"enable":true,"openFirewall":true,"port":9113,"scrapeUri":"http://127.0.0.1:9000/nginx_status"}' "$(echo "$res" | jq -c .module.nginxExporter)"
same "module defaults: no unit when disabled, profile default" '[true,"default"]' "$(echo "$res" | jq -c '[.module.disabledHasNoUnit, .module.defaultProfile]')"
same "module package defaults to the flake's package" '"go-ffmpeg-hls-swarm-0.1.0"' "$(echo "$res" | jq -c .module.packageName)"
same "microvm (user): qemu, forwards 8080/9100/9113, no failed assertion" \
  '{"failed":[],"fwd":[8080,9100,9113],"hv":"qemu","if":[{"id":"usernet","mac":"02:48:4c:53:00:01","type":"user"}]}' \
  "$(echo "$res" | jq -cS '.vmUser | {hv: .hypervisor, if: .interfaces, fwd: [.forwardPorts[].host.port], failed: .failedAssertions}')"
same "microvm (tap): TAP interface, no forwards, no failed assertion" \
  '{"failed":[],"fwd":[],"if":[{"id":"hls-origin0","mac":"02:48:4c:53:00:02","type":"tap"}]}' \
  "$(echo "$res" | jq -cS '.vmTap | {if: .interfaces, fwd: .forwardPorts, failed: .failedAssertions}')"
same "microvm shares the host store read-only (9p)" '[{"mountPoint":"/nix/.ro-store","proto":"9p","source":"/nix/store","tag":"ro-store"}]' "$(echo "$res" | jq -cS .vmUser.shares)"

# 6. An unknown profile fails evaluation with the list of valid profiles.
valid=$(jq -r '[.profiles[].name] | join(", ")' profiles/origin.json)
if ! evc unknownLibProfile >/dev/null && grep -q "unknown origin profile \"no-such-profile\": valid profiles are $valid" "$work/err"; then ok "nix/lib.nix originProfile throws with the valid list"; else bad "lib unknown profile"; fi
if ! evc unknownModuleProfile >/dev/null && grep -q 'no-such-profile' "$work/err" && grep -q '"tap-logged"' "$work/err"; then ok "services.hls-origin.profile = unknown fails with the valid list"; else bad "module unknown profile"; fi

# 7. --build: build and run with the stub (real Go binaries, real closureInfo, real imagegen).
if $build; then
  nb() { nix build "${common[@]}" "${flake[@]}" --no-link --json "path:$work/project#$1" 2>"$work/err" | jq -r '.[0].outputs | to_entries[0].value'; }
  nr() { nix run "${common[@]}" "${flake[@]}" "path:$work/project#$1" -- "${@:2}" 2>"$work/err"; }
  if out=$(nb go-ffmpeg-hls-swarm) && v=$("$out/bin/go-ffmpeg-hls-swarm" --version 2>&1) && [[ $v == *0.1.0* ]]; then ok "nix build .#go-ffmpeg-hls-swarm: $v"; else bad "build go-ffmpeg-hls-swarm"; fi
  if out=$(nb imagegen) && "$out/bin/imagegen" --help >/dev/null 2>&1; then ok "nix build .#imagegen: imagegen --help runs"; else bad "build imagegen"; fi
  if out=$(nr up --dry-run low-latency runner) && [[ $out == *"Profile:    low-latency"* && $out == *"-go-ffmpeg-hls-swarm-0.1.0/bin/go-ffmpeg-hls-swarm origin --profile low-latency"* ]]; then
    ok "nix run .#up -- --dry-run low-latency runner: $(echo "$out" | grep -m1 Underlying)"
  else bad "nix run .#up dry run"; echo "$out" | sed 's/^/     /'; fi
  if out=$(nr up --dry-run default vm 2>&1); then
    if [[ $out == *"nix run /nix/store/"*"-source#test-origin-vm-default"* ]]; then ok "nix run .#up -- --dry-run default vm: runs this flake's test-origin-vm-default"; else bad "up vm target"; echo "$out" | sed 's/^/     /'; fi
  elif grep -q "vm needs KVM" "$work/err"; then ok "nix run .#up -- default vm without /dev/kvm is refused: $(grep -m1 -o 'vm needs KVM[^:]*' "$work/err")"
  else bad "up vm"; fi
  if out=$(nr test-origin --help) && [[ $out == *"--profile"* ]]; then ok "nix run .#test-origin -- --help (real origin help)"; else bad "test-origin --help"; fi
  if nr generate-completion "$work/completion" >/dev/null && [ -s "$work/completion/go-ffmpeg-hls-swarm.bash" ] && [ -s "$work/completion/_go-ffmpeg-hls-swarm" ] && [ -s "$work/completion/go-ffmpeg-hls-swarm.fish" ]; then
    ok "nix run .#generate-completion: bash, zsh, fish files written"
  else bad "generate-completion"; fi
  if tar=$(nb go-ffmpeg-hls-swarm-container) && crane validate --tarball "$tar" >/dev/null 2>"$work/err"; then
    cfg=$(skopeo inspect --config --raw "docker-archive:$tar")
    ok "nix build .#go-ffmpeg-hls-swarm-container: crane validate passes; entrypoint $(echo "$cfg" | jq -c .config.Entrypoint), healthcheck $(echo "$cfg" | jq -c .config.Healthcheck.Test)"
    if docker version >/dev/null 2>&1; then
      if id=$(docker load -q <"$tar" | sed -n 's/^Loaded image: //p') && docker run --rm --network none "$id" --help >"$work/help" 2>&1 && grep -q -- --clients "$work/help"; then
        ok "docker load < result; docker run $id --help"
      else bad "docker run of the image"; sed 's/^/     /' "$work/help" | head -5; fi
      if nr load-test-origin-container >/dev/null &&
        hc=$(docker image inspect go-ffmpeg-hls-swarm-test-origin:latest --format '{{json .Config.Healthcheck.Test}} {{.Config.User}}'); then
        ok "nix run .#load-test-origin-container: loaded into dockerd, healthcheck+user $hc"
      else bad "load app"; fi
    else echo "n/a  docker load/run: no Docker engine at \$DOCKER_HOST"; fi
    if sbom=$(nb go-ffmpeg-hls-swarm-container.sbom) && jq -e .spdxVersion "$sbom" >/dev/null; then ok "….sbom output: $(jq -r .spdxVersion "$sbom"), $(jq '.packages | length' "$sbom") packages"; else bad "sbom output"; fi
  else bad "image build"; fi
  if tar=$(nb test-origin-container-enhanced) && crane validate --tarball "$tar" >/dev/null 2>"$work/err"; then
    ok "nix build .#test-origin-container-enhanced: cmd $(skopeo inspect --config --raw "docker-archive:$tar" | jq -c .config.Cmd)"
  else bad "enhanced image build"; fi
  # push straight from the store to a loopback registry (no tarball in the store)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  crane registry serve --address "127.0.0.1:$port" >"$work/registry.log" 2>&1 &
  reg=$!
  for _ in $(seq 1 50); do crane catalog "127.0.0.1:$port" >/dev/null 2>&1 && break; sleep 0.1; done
  if nr push-swarm-client-container "127.0.0.1:$port/swarm-client:test" >/dev/null && labels=$(crane config "127.0.0.1:$port/swarm-client:test" | jq -c '.config.Labels["swarm.deployment-type"]'); then
    ok "nix run .#push-swarm-client-container -- 127.0.0.1:$port/swarm-client:test: pushed, label swarm.deployment-type=$labels"
  else bad "push app"; fi
  # amd64 + arm64: the aarch64-linux stub derivations run on this machine (their builders are the
  # host's shell and Go, cross-compiling), so Nix only has to accept the platform.
  if nix run "${common[@]}" "${flake[@]}" --option extra-platforms aarch64-linux "path:$work/project#push-multiarch-swarm-client-container" -- "127.0.0.1:$port/swarm-client:multi" >/dev/null 2>"$work/err" &&
    plats=$(crane manifest "127.0.0.1:$port/swarm-client:multi" | jq -c '[.manifests[].platform.architecture]') &&
    crane export --platform linux/arm64 "127.0.0.1:$port/swarm-client:multi" - | tar -tf - >"$work/arm64.list" &&
    arm=$(grep -- '-go-ffmpeg-hls-swarm-0.1.0/bin/go-ffmpeg-hls-swarm$' "$work/arm64.list") &&
    file=$(crane export --platform linux/arm64 "127.0.0.1:$port/swarm-client:multi" - | tar -xOf - "$arm" | file -b - | cut -d, -f1-2); then
    ok "nix run .#push-multiarch-swarm-client-container: index $plats, arm64 image holds $arm ($file)"
  else bad "multi-arch push"; fi
  kill "$reg" 2>/dev/null || true
  wait "$reg" 2>/dev/null || true
fi

echo "nix-eval: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

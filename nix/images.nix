# Images through imagegen (no dockerTools): Nix builds the closure, imagegen turns it into a
# layered OCI image. Two ways out:
#   mkImage     a derivation that runs imagegen in the build sandbox on a closureInfo of the
#               roots and writes a docker-archive ($out, for `docker load < result`);
#   mkImageApp  an app that runs imagegen on the host, reading the closure with `nix path-info`,
#               and loads the image into Docker or pushes it to a registry: no tarball in the store.
# The image's name, entrypoint, healthcheck, labels and user come from its spec file in
# profiles/images/<name>.json; Nix only adds the closure roots and the architecture.
{
  lib,
  pkgs,
  imagegen,
  sourceDateEpoch,
}:
let
  specFile = spec: ../profiles/images + "/${spec}.json";

  # The imagegen arguments shared by both ways out; closure is either
  # { file = <closureInfo>; } (inside a build) or { roots = [ … ]; } (imagegen asks nix path-info).
  buildArgs =
    {
      spec,
      arch,
      closure,
      extraArgs ? [ ],
    }:
    [
      "build"
      "--spec"
      "${specFile spec}"
      "--arch"
      arch
    ]
    ++ (
      if closure ? file then
        [
          "--closure"
          "${arch}=${closure.file}"
        ]
      else
        lib.concatMap (root: [
          "--root"
          "${arch}=${root}"
        ]) closure.roots
    )
    ++ extraArgs;
in
{
  mkImage =
    {
      name,
      spec,
      arch,
      roots,
      extraArgs ? [ ],
    }:
    let
      # store-paths + registration (narHash, narSize, references) of every path in the closure;
      # imagegen takes the paths nothing else refers to as the roots.
      closure = pkgs.closureInfo { rootPaths = roots; };
    in
    pkgs.runCommand "${name}-${arch}.tar"
      {
        nativeBuildInputs = [ imagegen ];
        SOURCE_DATE_EPOCH = toString sourceDateEpoch;
        passthru = {
          inherit spec arch roots;
          imageName = (lib.importJSON (specFile spec)).name;
        };
        meta.description = "${name} (${arch}) as a docker-archive built by imagegen: docker load < result";
      }
      ''
        imagegen ${
          lib.escapeShellArgs (buildArgs {
            inherit spec arch extraArgs;
            closure.file = closure;
          })
        } --output "docker-archive:$out"
      '';

  # mode: "load" (into the Docker engine of DOCKER_HOST) or "push" (first argument: a registry ref).
  mkImageApp =
    {
      name,
      spec,
      arch,
      roots,
      extraArgs ? [ ],
      mode,
    }:
    let
      common = lib.escapeShellArgs (buildArgs {
        inherit spec arch extraArgs;
        closure.roots = roots;
      });
    in
    pkgs.writeShellApplication {
      name = "${mode}-${name}";
      runtimeInputs = [ imagegen ];
      runtimeEnv.SOURCE_DATE_EPOCH = toString sourceDateEpoch;
      text =
        if mode == "load" then
          ''
            exec imagegen ${common} --output docker-daemon "$@"
          ''
        else
          ''
            if [ "$#" -lt 1 ]; then
              echo "usage: nix run .#push-${name} -- REGISTRY/REPOSITORY:TAG [imagegen flags…]" >&2
              exit 2
            fi
            ref=$1
            shift
            exec imagegen ${common} --output "registry:$ref" "$@"
          '';
    };
}

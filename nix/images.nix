# Images through imagegen (no dockerTools): Nix builds the closure, imagegen turns it into a
# layered OCI image. Two ways out:
#   mkImage     a derivation that runs imagegen in the build sandbox on a closureInfo of the
#               roots and writes a docker-archive ($out, for `docker load < result`) and the
#               closure's SPDX SBOM (output "sbom");
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

  # The imagegen arguments shared by both ways out. closure is either { file = <closureInfo>; }
  # for the one arch (inside a build) or { roots = { <arch> = [ … ]; … }; } (imagegen asks
  # `nix path-info`, one or more arches).
  buildArgs =
    {
      spec,
      arch ? null,
      closure,
      extraArgs ? [ ],
    }:
    let
      arches = if closure ? file then [ arch ] else lib.attrNames closure.roots;
    in
    [
      "build"
      "--spec"
      "${specFile spec}"
      "--arch"
      (lib.concatStringsSep "," arches)
    ]
    ++ (
      if closure ? file then
        [
          "--closure"
          "${arch}=${closure.file}"
        ]
      else
        lib.concatLists (
          lib.mapAttrsToList (
            a: roots:
            lib.concatMap (root: [
              "--root"
              "${a}=${root}"
            ]) roots
          ) closure.roots
        )
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
        # out: the docker-archive; sbom: imagegen's SPDX document of the closure.
        outputs = [
          "out"
          "sbom"
        ];
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
        } --quiet --output "docker-archive:$TMPDIR/image.tar"
        # imagegen writes the SBOM beside the tarball (FILE.spdx.json).
        mv "$TMPDIR/image.tar" "$out"
        mv "$TMPDIR/image.tar.spdx.json" "$sbom"
      '';

  # mode: "load" (one arch, into the Docker engine of DOCKER_HOST) or "push" (first argument: a
  # registry ref).
  # archRoots: { <arch> = [ roots ]; } — one arch, or several for a registry push (an image index).
  mkImageApp =
    {
      name,
      spec,
      archRoots,
      extraArgs ? [ ],
      mode,
    }:
    let
      common = lib.escapeShellArgs (buildArgs {
        inherit spec extraArgs;
        closure.roots = archRoots;
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
              echo "usage: nix run .#${mode}-${name} -- REGISTRY/REPOSITORY:TAG [imagegen flags…]" >&2
              exit 2
            fi
            ref=$1
            shift
            exec imagegen ${common} --output "registry:$ref" "$@"
          '';
    };
}

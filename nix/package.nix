# One of the project's Go binaries (cmd/<pname>), built with nixpkgs' buildGoModule.
# CGO is off, so the binary is static and runs in images built FROM scratch; the version and
# commit are linked in with -X (internal/version). flake.nix calls this once per binary.
{
  lib,
  buildGoModule,
  pname,
  version,
  commit ? "",
  src,
  vendorHash,
  description,
  homepage,
  modulePath,
}:
buildGoModule {
  inherit
    pname
    version
    src
    vendorHash
    ;

  subPackages = [ "cmd/${pname}" ];

  # Top-level CGO_ENABLED is an error since nixpkgs 25.11: it belongs in env.
  env.CGO_ENABLED = 0;

  ldflags = [
    "-s"
    "-w"
    "-X ${modulePath}/internal/version.Version=${version}"
  ]
  ++ lib.optional (commit != "") "-X ${modulePath}/internal/version.Commit=${commit}";

  # The module's tests run once, for every package, in checks.<system>.unit-tests; here they
  # would only repeat cmd/<pname>'s tests for each binary.
  doCheck = false;

  meta = {
    inherit description homepage;
    license = lib.licenses.mit;
    mainProgram = pname;
  };
}

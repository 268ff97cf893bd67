# The NixOS-based test-origin outputs of one Linux system, each a nixosSystem that uses the
# shared module: the enhanced container, a MicroVM per profile and the ISO.
{
  nixpkgs,
  microvm,
  hlsOriginModule,
  system,
  project,
}:
let
  nixos =
    modules:
    nixpkgs.lib.nixosSystem {
      modules = [
        { nixpkgs.hostPlatform = system; }
        hlsOriginModule
      ]
      ++ modules;
    };
in
{
  containerEnhanced = profile: nixos [ (import ./container-enhanced.nix { inherit profile; }) ];

  vm =
    profile:
    nixos [
      microvm.nixosModules.microvm
      (import ./microvm.nix {
        inherit profile;
        tap = project.isTapProfile profile;
      })
    ];

  iso =
    { profile, cloudInit }:
    nixos [
      (import ./iso.nix { inherit profile cloudInit; })
    ];
}

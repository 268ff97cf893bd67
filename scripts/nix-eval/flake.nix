# TEST ONLY — a stand-in for nixpkgs, used by scripts/nix-eval.sh with
# `--override-input nixpkgs path:<copy of this dir>`. `lib` is the real nixpkgs.lib (copied in
# by the script) plus a nixosSystem that evaluates the given modules against stub NixOS options;
# legacyPackages.<system> has builders that return raw derivations recording their arguments.
# It proves this project's wiring (names, profiles, arguments), not nixpkgs' own APIs.
{
  outputs =
    { self }:
    let
      lib = (import ./lib).extend (
        final: prev: {
          nixosSystem = import ./nixos.nix {
            lib = final;
            pkgsFor = system: self.legacyPackages.${system};
          };
        }
      );
    in
    {
      inherit lib;
      legacyPackages = lib.genAttrs lib.systems.flakeExposed (system: import ./pkgs.nix { inherit lib system; });
    };
}

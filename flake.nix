{
  description = "go-ffmpeg-hls-swarm: HLS load tester, its test origin (runner, container, MicroVM, ISO) and imagegen images";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";
    # x86_64-linux aarch64-linux x86_64-darwin aarch64-darwin
    systems.url = "github:nix-systems/default";
    flake-utils = {
      url = "github:numtide/flake-utils";
      inputs.systems.follows = "systems";
    };
    microvm = {
      url = "github:microvm-nix/microvm.nix";
      inputs.nixpkgs.follows = "nixpkgs";
    };
  };

  outputs =
    {
      self,
      nixpkgs,
      systems,
      flake-utils,
      microvm,
    }:
    let
      inherit (nixpkgs) lib;
      project = import ./nix/lib.nix { inherit lib; };
      version = "0.1.0";
      perSystem =
        system:
        import ./nix/per-system.nix {
          inherit
            self
            nixpkgs
            microvm
            system
            project
            version
            ;
          # Linked into the binaries (internal/version.Commit); empty for a dirty tree.
          commit = self.shortRev or "";
          # Image creation time and layer mtimes: the commit's time, so images are reproducible.
          sourceDateEpoch = self.lastModified or 1;
        };
    in
    flake-utils.lib.eachSystem (import systems) perSystem
    // {
      # services.hls-origin, with this flake's package as the default.
      nixosModules.default =
        { lib, pkgs, ... }:
        {
          imports = [ ./nix/test-origin/nixos-module.nix ];
          services.hls-origin.package = lib.mkDefault self.packages.${pkgs.stdenv.hostPlatform.system}.default;
        };
      nixosModules.hls-origin = self.nixosModules.default;

      lib = {
        inherit (project) originProfileNames swarmProfileNames;
      };
    };
}

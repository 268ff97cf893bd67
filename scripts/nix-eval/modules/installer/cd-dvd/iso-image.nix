# TEST ONLY — stands in for nixpkgs' nixos/modules/installer/cd-dvd/iso-image.nix: the isoImage
# options this project sets (names and types as in the real module), image.baseName and
# system.build.isoImage.
{ config, lib, ... }:
let
  inherit (lib) mkOption types;
in
{
  options = {
    isoImage = {
      makeEfiBootable = mkOption { type = types.bool; default = false; };
      makeUsbBootable = mkOption { type = types.bool; default = false; };
      volumeID = mkOption { type = types.str; default = "nixos"; };
    };
    image.baseName = mkOption { type = types.str; };
  };
  config = {
    image.baseName = "nixos-stub";
    system.build.isoImage = derivation {
      name = "${config.image.baseName}.iso";
      system = config.nixpkgs.hostPlatform;
      builder = "/bin/sh";
      args = [ "-c" "/bin/mkdir -p $out/iso; echo stub > $out/iso/${config.image.baseName}.iso" ];
      recorded = builtins.toJSON {
        inherit (config) isoImage;
        inherit (config.services) openssh cloud-init;
        toplevel = "${config.system.build.toplevel}";
      };
    };
  };
}

# The enhanced test-origin container: a whole NixOS system (systemd as PID 1) running the shared
# module, meant for `docker run` with systemd's needs (see docs/how-to/nix.md). flake.nix turns
# config.system.build.toplevel into an image with imagegen, entrypoint <toplevel>/init.
{ profile }:
{ lib, modulesPath, ... }:
{
  imports = [
    ./nixos-module.nix
    # nixpkgs' settings for NixOS inside Docker (boot.isContainer, console, no logind …).
    (modulesPath + "/virtualisation/docker-image.nix")
  ];

  boot.isContainer = true;
  networking.hostName = "hls-origin";
  # Docker provides the network and /etc/resolv.conf.
  networking.useDHCP = false;
  networking.firewall.enable = false;
  services.journald.console = "/dev/console";

  services.hls-origin = {
    enable = true;
    inherit profile;
  };

  system.stateVersion = "26.05";
}

# A bootable ISO of the test origin (nixpkgs' own iso-image.nix; nixos-generators is deprecated
# upstream in favour of it). With cloudInit = true, cloud-init reads SSH keys and network settings
# from a NoCloud/ConfigDrive source (e.g. Proxmox's cloud-init drive) at boot.
{ profile, cloudInit }:
{ lib, modulesPath, ... }:
{
  imports = [
    ./nixos-module.nix
    (modulesPath + "/installer/cd-dvd/iso-image.nix")
  ];

  isoImage = {
    makeEfiBootable = true;
    makeUsbBootable = true;
    volumeID = "HLS_ORIGIN";
  };
  # iso-image.nix sets image.baseName at normal priority; the file is <baseName>.iso.
  image.baseName = lib.mkForce "hls-origin-${profile}${lib.optionalString cloudInit "-cloud-init"}";

  networking.hostName = "hls-origin";
  # With cloud-init, its network config (or its DHCP fallback) configures the interfaces.
  networking.useDHCP = lib.mkDefault (!cloudInit);

  services.hls-origin = {
    enable = true;
    inherit profile;
    openFirewall = true;
  };

  # Console login for a lab machine; SSH only with keys (cloud-init or authorizedKeys).
  services.getty.autologinUser = "root";
  services.openssh = {
    enable = true;
    openFirewall = true;
    settings = {
      PermitRootLogin = "prohibit-password";
      PasswordAuthentication = false;
      KbdInteractiveAuthentication = false;
    };
  };

  services.cloud-init = lib.mkIf cloudInit {
    enable = true;
    network.enable = true;
  };

  system.stateVersion = "26.05";
}

# The test origin as a microvm.nix guest (qemu). Profiles with "network": "tap" in
# profiles/origin.json sit on a TAP interface (the host creates it, see docs/how-to/nix.md);
# the others use qemu user networking with the origin and exporter ports forwarded to the host.
{ profile, tap }:
{ lib, config, ... }:
let
  cfg = config.services.hls-origin;
  tapInterface = "hls-origin0";
  mac = if tap then "02:48:4c:53:00:02" else "02:48:4c:53:00:01";
  forwarded = [
    cfg.port
    cfg.exporters.nodePort
    cfg.exporters.nginxPort
  ];
in
{
  imports = [ ./nixos-module.nix ];

  networking.hostName = "hls-origin";

  services.hls-origin = {
    enable = true;
    inherit profile;
    openFirewall = true;
  };

  microvm = {
    hypervisor = "qemu";
    vcpu = 2;
    mem = if profile == "4k-abr" then 4096 else 2048;
    # Boot from the host's store instead of building a store image.
    shares = [
      {
        tag = "ro-store";
        source = "/nix/store";
        mountPoint = "/nix/.ro-store";
        proto = "9p";
      }
    ];
    interfaces = [
      (
        if tap then
          {
            type = "tap";
            id = tapInterface;
            inherit mac;
          }
        else
          {
            type = "user";
            id = "usernet";
            inherit mac;
          }
      )
    ];
    # Only possible with qemu and a user interface (microvm.nix asserts it).
    forwardPorts = lib.optionals (!tap) (
      map (port: {
        from = "host";
        host.port = port;
        guest.port = port;
      }) forwarded
    );
  };

  # On the TAP link the guest is 10.177.0.2/24; the host side is 10.177.0.1.
  systemd.network.networks."10-tap" = lib.mkIf tap {
    matchConfig.MACAddress = mac;
    address = [ "10.177.0.2/24" ];
    gateway = [ "10.177.0.1" ];
  };

  system.stateVersion = "26.05";
}

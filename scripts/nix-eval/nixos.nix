# TEST ONLY — a stand-in for nixpkgs' lib.nixosSystem: lib.evalModules over the given modules and
# stub declarations of the NixOS options this project sets. The options are declared with the
# names and types of the real modules (see ../../../shared/NIX-FACTS.md and docs/explanation/nix.md),
# so a misspelt option or a wrong type fails here. system.build.toplevel is a raw derivation
# whose `recorded` attribute holds the parts of the config the project defines.
{ lib, pkgsFor }:
{
  modules,
  specialArgs ? { },
  ...
}:
let
  inherit (lib) mkOption types;
  anything = mkOption {
    type = types.attrsOf types.anything;
    default = { };
  };
  port = default: mkOption { type = types.port; inherit default; };
  bool = default: mkOption { type = types.bool; inherit default; };
  str = default: mkOption { type = types.str; inherit default; };
  exporter = extra: types.submodule {
    options = {
      enable = bool false;
      port = port 0;
      listenAddress = str "0.0.0.0";
      extraFlags = mkOption { type = types.listOf types.str; default = [ ]; };
      openFirewall = bool false;
      user = str "";
      group = str "";
    } // extra;
  };

  stubOptions =
    { config, ... }:
    {
      options = {
        nixpkgs.hostPlatform = mkOption { type = types.str; };
        systemd.services = mkOption {
          type = types.attrsOf (
            types.submodule {
              options = {
                description = str "";
                wantedBy = mkOption { type = types.listOf types.str; default = [ ]; };
                wants = mkOption { type = types.listOf types.str; default = [ ]; };
                after = mkOption { type = types.listOf types.str; default = [ ]; };
                path = mkOption { type = types.listOf types.package; default = [ ]; };
                environment = anything;
                serviceConfig = mkOption {
                  type = types.attrsOf types.anything;
                  default = { };
                };
              };
            }
          );
          default = { };
        };
        systemd.network.networks = anything;
        services.prometheus.exporters = {
          node = mkOption {
            type = exporter {
              enabledCollectors = mkOption { type = types.listOf types.str; default = [ ]; };
              disabledCollectors = mkOption { type = types.listOf types.str; default = [ ]; };
            };
            default = { };
          };
          nginx = mkOption {
            type = exporter {
              scrapeUri = str "http://localhost/nginx_status";
              telemetryPath = str "/metrics";
              sslVerify = bool true;
            };
            default = { };
          };
        };
        networking = {
          hostName = str "nixos";
          useDHCP = bool true;
          firewall.enable = bool true;
          firewall.allowedTCPPorts = mkOption { type = types.listOf types.port; default = [ ]; };
        };
        boot.isContainer = bool false;
        boot.kernel.sysctl = mkOption {
          type = types.attrsOf (types.nullOr (types.oneOf [ types.bool types.str types.int ]));
          default = { };
        };
        services.journald.console = str "";
        services.getty.autologinUser = mkOption { type = types.nullOr types.str; default = null; };
        services.openssh = {
          enable = bool false;
          openFirewall = bool true;
          settings = mkOption {
            type = types.submodule {
              freeformType = types.attrsOf types.anything;
              options = {
                PermitRootLogin = mkOption {
                  type = types.enum [ "yes" "without-password" "prohibit-password" "forced-commands-only" "no" ];
                  default = "prohibit-password";
                };
                PasswordAuthentication = bool true;
                KbdInteractiveAuthentication = bool true;
              };
            };
            default = { };
          };
        };
        services.cloud-init = {
          enable = bool false;
          network.enable = bool false;
        };
        system.stateVersion = str "";
        assertions = mkOption {
          type = types.listOf types.unspecified;
          default = [ ];
        };
        warnings = mkOption {
          type = types.listOf types.str;
          default = [ ];
        };
        system.build = mkOption {
          type = types.lazyAttrsOf types.raw;
          default = { };
        };
      };
      config = {
        _module.args.pkgs = pkgsFor config.nixpkgs.hostPlatform;
        system.build.toplevel = derivation {
          name = "nixos-system-${config.networking.hostName}";
          system = config.nixpkgs.hostPlatform;
          builder = "/bin/sh";
          args = [
            "-c"
            "/bin/mkdir -p $out; printf '#!/bin/sh\\necho stub NixOS init\\n' > $out/init; /bin/chmod +x $out/init"
          ];
          recorded = builtins.toJSON {
            inherit (config.services) hls-origin;
            hlsOriginService = config.systemd.services.hls-origin or null;
            inherit (config.services.prometheus) exporters;
            inherit (config.networking) firewall hostName;
            inherit (config.boot.kernel) sysctl;
          };
        };
      };
    };
in
lib.evalModules {
  specialArgs = {
    modulesPath = ./modules;
  }
  // specialArgs;
  modules = [ stubOptions ] ++ modules;
}

# services.hls-origin: the go-ffmpeg-hls-swarm test origin as a NixOS service, shared by the
# enhanced container, the MicroVM and the ISO.
#
# One unit runs `go-ffmpeg-hls-swarm origin`, which renders the FFmpeg argv and nginx.conf for the
# profile, starts FFmpeg (live test pattern → HLS on tmpfs) and nginx as its own children,
# supervises them and serves /health and /nginx_status through nginx. The Go code owns that
# behaviour; this module only chooses the profile, the port, the packages and the sandbox, and adds
# the node and nginx Prometheus exporters.
#
# The module needs `services.hls-origin.package`: the flake's nixosModules.default sets it to the
# flake's own package.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.services.hls-origin;
  project = import ../lib.nix { inherit lib; };
  inherit (lib) mkOption types;
in
{
  options.services.hls-origin = {
    enable = lib.mkEnableOption "the go-ffmpeg-hls-swarm test origin (FFmpeg live HLS encoder + nginx)";

    package = mkOption {
      type = types.package;
      description = "The go-ffmpeg-hls-swarm package (its `origin` subcommand runs the test origin).";
      example = lib.literalExpression "inputs.go-ffmpeg-hls-swarm.packages.\${pkgs.stdenv.hostPlatform.system}.default";
    };

    profile = mkOption {
      # The names come from profiles/origin.json, so a typo fails evaluation with the valid list.
      type = types.enum project.originProfileNames;
      default = "default";
      description = "Test-origin profile (profiles/origin.json).";
    };

    port = mkOption {
      type = types.port;
      default = 8080;
      description = "TCP port nginx serves the stream on (/stream.m3u8, /health, /nginx_status).";
    };

    listenAddress = mkOption {
      type = types.str;
      default = "0.0.0.0";
      example = "127.0.0.1";
      description = "Address nginx binds (the origin's own default, 127.0.0.1, serves only this machine).";
    };

    directory = mkOption {
      type = types.str;
      default = "/run/hls-origin";
      description = ''
        Directory FFmpeg writes playlists and segments to. The default is the unit's
        RuntimeDirectory, a tmpfs that systemd removes when the service stops.
      '';
    };

    ffmpegPackage = lib.mkPackageOption pkgs "ffmpeg-full" { };
    nginxPackage = lib.mkPackageOption pkgs "nginx" { };

    extraArgs = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "--log-level" "debug" ];
      description = "Extra arguments for `go-ffmpeg-hls-swarm origin`.";
    };

    openFirewall = mkOption {
      type = types.bool;
      default = false;
      description = "Open the origin's port (and the exporters' ports when they are enabled) in the firewall.";
    };

    exporters = {
      enable = mkOption {
        type = types.bool;
        default = true;
        description = "Run the Prometheus node exporter and the nginx exporter (scraping the origin's /nginx_status).";
      };
      nodePort = mkOption {
        type = types.port;
        default = 9100;
        description = "Port of the node exporter.";
      };
      nginxPort = mkOption {
        type = types.port;
        default = 9113;
        description = "Port of the nginx exporter.";
      };
    };
  };

  config = lib.mkIf cfg.enable {
    systemd.services.hls-origin = {
      description = "go-ffmpeg-hls-swarm test origin (profile ${cfg.profile})";
      wantedBy = [ "multi-user.target" ];
      wants = [ "network-online.target" ];
      after = [ "network-online.target" ];
      # The origin finds ffmpeg and nginx on PATH.
      path = [
        cfg.ffmpegPackage
        cfg.nginxPackage
      ];
      serviceConfig = {
        ExecStart = lib.escapeShellArgs (
          [
            (lib.getExe cfg.package)
            "origin"
            "--profile"
            cfg.profile
            "--port"
            (toString cfg.port)
            "--listen"
            cfg.listenAddress
            "--dir"
            cfg.directory
            # Access logs of the logged/debug profiles go to the unit's LogsDirectory.
            "--log-dir"
            "/var/log/hls-origin"
          ]
          ++ cfg.extraArgs
        );
        DynamicUser = true;
        RuntimeDirectory = "hls-origin";
        StateDirectory = "hls-origin";
        LogsDirectory = "hls-origin";
        WorkingDirectory = "/var/lib/hls-origin";
        # The origin stops FFmpeg and nginx itself on SIGTERM; whatever is left after the
        # timeout gets SIGKILL.
        KillMode = "mixed";
        TimeoutStopSec = 15;
        Restart = "on-failure";
        RestartSec = 2;
        LimitNOFILE = 65536;
        AmbientCapabilities = lib.optional (cfg.port < 1024) "CAP_NET_BIND_SERVICE";
        NoNewPrivileges = true;
        PrivateTmp = true;
        ProtectSystem = "strict";
        ProtectHome = true;
      };
    };

    services.prometheus.exporters = lib.mkIf cfg.exporters.enable {
      node = {
        enable = true;
        port = cfg.exporters.nodePort;
        inherit (cfg) openFirewall;
      };
      nginx = {
        enable = true;
        port = cfg.exporters.nginxPort;
        scrapeUri = "http://127.0.0.1:${toString cfg.port}/nginx_status";
        inherit (cfg) openFirewall;
      };
    };

    networking.firewall.allowedTCPPorts = lib.mkIf cfg.openFirewall [ cfg.port ];

    # Many concurrent HLS clients: a longer accept queue and more local ports.
    boot.kernel.sysctl = {
      "net.core.somaxconn" = lib.mkDefault 4096;
      "net.ipv4.tcp_max_syn_backlog" = lib.mkDefault 4096;
      "net.ipv4.ip_local_port_range" = lib.mkDefault "1024 65535";
    };
  };
}

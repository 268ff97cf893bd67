# TEST ONLY — scenarios for scripts/nix-eval.sh. Inputs are overridden by the script:
# project = this repository (a copy), nixpkgs = the stub (../flake.nix), microvm = fetched
# microvm.nix. `result` is JSON: every value is something the script compares.
{
  inputs = {
    project.url = "path:./project";
    nixpkgs.url = "path:./nixpkgs";
    microvm.url = "path:./microvm";
    microvm.flake = false;
  };

  outputs =
    {
      project,
      nixpkgs,
      microvm,
      ...
    }:
    let
      inherit (nixpkgs) lib;
      system = "x86_64-linux";
      eval =
        modules:
        (lib.nixosSystem {
          modules = [
            { nixpkgs.hostPlatform = system; }
            project.nixosModules.default
          ]
          ++ modules;
        }).config;
      tryMsg =
        v:
        let
          r = builtins.tryEval (builtins.deepSeq v v);
        in
        if r.success then "evaluated" else "threw";

      origin = eval [
        {
          services.hls-origin = {
            enable = true;
            profile = "low-latency";
            port = 9000;
            openFirewall = true;
          };
        }
      ];
      disabled = eval [ ];

      # Our MicroVM module against microvm.nix's real option declarations and assertions.
      vm =
        profile: tap:
        eval [
          "${microvm}/nixos-modules/microvm/options.nix"
          "${microvm}/nixos-modules/microvm/asserts.nix"
          (import "${project}/nix/test-origin/microvm.nix" { inherit profile tap; })
        ];
      vmFacts =
        c:
        {
          inherit (c.microvm)
            hypervisor
            vcpu
            mem
            forwardPorts
            ;
          interfaces = map (i: { inherit (i) type id mac; }) c.microvm.interfaces;
          shares = map (s: { inherit (s) tag source mountPoint proto; }) c.microvm.shares;
          failedAssertions = map (a: a.message) (lib.filter (a: !a.assertion) c.assertions);
        };
    in
    {
      # Both must fail with the list of valid profiles (the script reads the error).
      unknownModuleProfile =
        (eval [
          {
            services.hls-origin = {
              enable = true;
              profile = "no-such-profile";
            };
          }
        ]).systemd.services.hls-origin.serviceConfig.ExecStart;
      unknownLibProfile = (import "${project}/nix/lib.nix" { inherit lib; }).originProfile "no-such-profile";

      result = {
        module = {
          execStart = origin.systemd.services.hls-origin.serviceConfig.ExecStart;
          path = map (p: p.name) origin.systemd.services.hls-origin.path;
          wantedBy = origin.systemd.services.hls-origin.wantedBy;
          firewall = origin.networking.firewall.allowedTCPPorts;
          nodeExporter = {
            inherit (origin.services.prometheus.exporters.node) enable port openFirewall;
          };
          nginxExporter = {
            inherit (origin.services.prometheus.exporters.nginx)
              enable
              port
              scrapeUri
              openFirewall
              ;
          };
          somaxconn = origin.boot.kernel.sysctl."net.core.somaxconn";
          packageName = origin.services.hls-origin.package.name;
          disabledHasNoUnit = !(disabled.systemd.services ? hls-origin);
          defaultProfile = disabled.services.hls-origin.profile;
        };
        unknownProfile = tryMsg (eval [
          {
            services.hls-origin = {
              enable = true;
              profile = "no-such-profile";
            };
          }
        ]).systemd.services.hls-origin.serviceConfig.ExecStart;
        vmUser = vmFacts (vm "default" false);
        vmTap = vmFacts (vm "tap" true);
      };
    };
}

# Everything flake.nix exposes for one system: packages, apps, checks (the quick tier),
# legacyPackages.checks-{quick,build,full}, the dev shell and the formatter.
# Per-profile outputs are generated from the names in profiles/*.json (nix/lib.nix).
{
  self,
  nixpkgs,
  microvm,
  system,
  project,
  version,
  commit,
  sourceDateEpoch,
}:
let
  inherit (nixpkgs) lib;
  pkgs = nixpkgs.legacyPackages.${system};
  isLinux = project.isLinux system;
  # Images hold Linux binaries of this machine's CPU; on macOS they need a Linux builder.
  linuxSystem = project.linuxSystemFor system;
  linuxPkgs = nixpkgs.legacyPackages.${linuxSystem};
  arch = project.archOf linuxSystem;

  # A source tree of only some entries of the repository (paths relative to its root), so that
  # a docs change rebuilds nothing. (builtins.path + filter rather than lib.fileset, which
  # needs builtins.readFileType, Nix >= 2.14.)
  sourceOf =
    name: entries:
    builtins.path {
      inherit name;
      path = ../.;
      filter =
        path: type:
        let
          rel = lib.removePrefix (toString ../. + "/") (toString path);
        in
        lib.any (
          e: rel == e || lib.hasPrefix "${e}/" rel || (type == "directory" && lib.hasPrefix "${rel}/" e)
        ) entries;
    };
  # The Go sources.
  src = sourceOf "go-ffmpeg-hls-swarm-source" [
    "go.mod"
    "go.sum"
    "cmd"
    "internal"
    "profiles"
  ];
  goPackages =
    p:
    lib.genAttrs
      [
        "go-ffmpeg-hls-swarm"
        "imagegen"
      ]
      (
        pname:
        p.callPackage ./package.nix {
          inherit
            pname
            version
            commit
            src
            ;
          inherit (project) homepage modulePath;
          # See docs/explanation/nix.md ("vendorHash") for how this file is kept current.
          vendorHash = lib.fileContents ./vendor-hash;
          description =
            {
              go-ffmpeg-hls-swarm = "HLS load tester (a supervised FFmpeg swarm) and its test origin";
              imagegen = "Layered, multi-arch OCI images from Nix store closures";
            }
            .${pname};
        }
      );
  native = goPackages pkgs;
  linux = goPackages linuxPkgs;
  swarm = native.go-ffmpeg-hls-swarm;

  images = import ./images.nix {
    inherit lib pkgs sourceDateEpoch;
    inherit (native) imagegen;
  };

  app = description: drv: {
    type = "app";
    program = lib.getExe drv;
    meta = { inherit description; };
  };

  # --- runners: the Go binary with FFmpeg (and nginx) on PATH ------------------------------
  originRunner =
    profile:
    pkgs.writeShellApplication {
      name = "test-origin-${profile}";
      runtimeInputs = [
        swarm
        pkgs.ffmpeg-full
        pkgs.nginx
      ];
      text = ''exec go-ffmpeg-hls-swarm origin --profile ${project.originProfile profile} "$@"'';
      meta.description = "Test origin, profile ${profile}, on this machine (FFmpeg + nginx)";
    };
  swarmRunner =
    profile:
    pkgs.writeShellApplication {
      name = "swarm-client-${profile}";
      runtimeInputs = [
        swarm
        pkgs.ffmpeg-headless
      ];
      text = ''exec go-ffmpeg-hls-swarm --profile ${project.swarmProfile profile} "$@"'';
      meta.description = "Swarm client, profile ${profile}: go-ffmpeg-hls-swarm --profile ${profile} URL";
    };
  perProfile =
    prefix: names: f:
    lib.listToAttrs (map (name: lib.nameValuePair "${prefix}-${name}" (f name)) names);

  originRunners = perProfile "test-origin" project.originProfileNames originRunner;
  swarmRunners = perProfile "swarm-client" project.swarmProfileNames swarmRunner;

  # --- images --------------------------------------------------------------------------------
  # name = { spec (profiles/images/<spec>.json); rootsOf (the closure roots, from a Linux package
  # set and the Go packages built with it); extraArgs }
  # The swarm binary with a headless FFmpeg and CA certificates (main and swarm-client images).
  swarmRoots = lp: gp: [
    gp.go-ffmpeg-hls-swarm
    lp.ffmpeg-headless
    lp.cacert
  ];
  portableImages = {
    go-ffmpeg-hls-swarm-container = {
      spec = "go-ffmpeg-hls-swarm";
      rootsOf = swarmRoots;
    };
    swarm-client-container = {
      spec = "swarm-client";
      rootsOf = swarmRoots;
    };
    test-origin-container = {
      spec = "test-origin";
      rootsOf = lp: gp: [
        gp.go-ffmpeg-hls-swarm
        lp.ffmpeg-full
        lp.nginx
      ];
    };
    # The compose stack's Prometheus (promtool is nixpkgs' "cli" output: the healthcheck) and
    # nginx exporter (with the swarm binary for its healthcheck); docker-compose.yaml.
    prometheus-container = {
      spec = "prometheus";
      rootsOf = lp: _: [
        lp.prometheus
        lp.prometheus.cli
      ];
    };
    nginx-exporter-container = {
      spec = "nginx-exporter";
      rootsOf = lp: gp: [
        lp.prometheus-nginx-exporter
        gp.go-ffmpeg-hls-swarm
      ];
    };
    # The base that ko puts the Go binary on (.ko.yaml, docs/how-to/ko.md).
    ffmpeg-base-container = {
      spec = "ffmpeg-base";
      rootsOf = lp: _: [
        lp.ffmpeg-headless
        lp.cacert
      ];
    };
  };
  # Every Linux system's roots by imagegen arch, for the multi-arch pushes.
  archRootsOf =
    i:
    lib.listToAttrs (
      map (
        s:
        lib.nameValuePair (project.archOf s) (
          i.rootsOf nixpkgs.legacyPackages.${s} (goPackages nixpkgs.legacyPackages.${s})
        )
      ) project.linuxSystems
    );

  nixosOutputs = import ./test-origin {
    inherit nixpkgs microvm system project;
    hlsOriginModule = self.nixosModules.default;
  };
  enhanced = (nixosOutputs.containerEnhanced "default").config.system.build.toplevel;
  # The image's single root: imagegen links a root's bin/* into /bin, so this puts /bin/init
  # (NixOS stage 2, which starts systemd) and /bin/go-ffmpeg-hls-swarm (for the spec's exec-form
  # healthcheck) into the image; the NixOS system comes in as its dependency.
  enhancedRoot = pkgs.runCommand "test-origin-enhanced-root" { } ''
    mkdir -p $out/bin
    ln -s ${enhanced}/init $out/bin/init
    ln -s ${lib.getExe linux.go-ffmpeg-hls-swarm} $out/bin/go-ffmpeg-hls-swarm
  '';
  linuxImages = {
    test-origin-container-enhanced = {
      spec = "test-origin-enhanced";
      rootsOf = _: _: [ enhancedRoot ];
    };
  };
  allImages = portableImages // lib.optionalAttrs isLinux linuxImages;

  imagePackages = lib.mapAttrs (
    name: i:
    images.mkImage {
      inherit name arch;
      inherit (i) spec;
      roots = i.rootsOf linuxPkgs linux;
      extraArgs = i.extraArgs or [ ];
    }
  ) allImages;
  imageApp =
    name: i: mode: archRoots:
    images.mkImageApp {
      inherit
        name
        mode
        archRoots
        ;
      inherit (i) spec;
      extraArgs = i.extraArgs or [ ];
    };
  imageApps =
    lib.concatMapAttrs (name: i: {
      "load-${name}" =
        app "Build ${name} (${arch}) with imagegen and load it into Docker (no tarball in the store)"
          (imageApp name i "load" { ${arch} = i.rootsOf linuxPkgs linux; });
      "push-${name}" = app "Build ${name} (${arch}) with imagegen and push it: nix run .#push-${name} -- REF" (
        imageApp name i "push" { ${arch} = i.rootsOf linuxPkgs linux; }
      );
    }) allImages
    # amd64 + arm64 in one image index; needs both Linux systems built (builders or binfmt).
    // lib.concatMapAttrs (name: i: {
      "push-multiarch-${name}" =
        app "Build ${name} for amd64 and arm64 with imagegen and push the index: nix run .#push-multiarch-${name} -- REF"
          (imageApp "multiarch-${name}" i "push" (archRootsOf i));
    }) portableImages;

  vmRunner = profile: (nixosOutputs.vm profile).config.microvm.declaredRunner;
  vms = perProfile "test-origin-vm" project.originProfileNames vmRunner;
  isos = {
    test-origin-iso = (nixosOutputs.iso { profile = "default"; cloudInit = false; }).config.system.build.isoImage;
    test-origin-iso-cloud-init =
      (nixosOutputs.iso { profile = "default"; cloudInit = true; }).config.system.build.isoImage;
  };

  # --- stand-ins on macOS for what needs Linux --------------------------------------------------
  linuxOnlyApps =
    lib.mapAttrs (name: _: "a MicroVM needs Linux with KVM") (vms // { test-origin-vm = null; })
    // lib.mapAttrs (name: _: "the enhanced container boots NixOS with systemd, built on Linux") {
      load-test-origin-container-enhanced = null;
      push-test-origin-container-enhanced = null;
    };
  standIn =
    name: why:
    app "Not available on ${system}: ${why}" (
      pkgs.writeShellApplication {
        name = "${name}-unavailable";
        text = ''
          cat >&2 <<'EOF'
          ${name} is not available on ${system}: ${why}.
          What works here:
            nix run .#up -- default runner        the test origin on this machine
            nix run .#test-origin                 the same, directly
            nix run .#up -- default container     the test-origin image in Docker
                                                  (load it first: nix run .#load-test-origin-container)
          Build the Linux outputs on a Linux machine or builder, e.g.
            nix build .#packages.${linuxSystem}.${lib.removePrefix "load-" (lib.removePrefix "push-" name)}
          EOF
          exit 1
        '';
      }
    );

  # --- packages ------------------------------------------------------------------------------------
  packages = {
    default = swarm;
    inherit (native) go-ffmpeg-hls-swarm imagegen;
    test-origin = originRunners.test-origin-default;
    swarm-client = swarmRunners.swarm-client-default;
  }
  // originRunners
  // swarmRunners
  // imagePackages
  // lib.optionalAttrs isLinux (
    vms
    // isos
    // {
      test-origin-vm = vms.test-origin-vm-default;
    }
  );

  # --- apps ----------------------------------------------------------------------------------------
  up = pkgs.writeShellApplication {
    name = "up";
    runtimeInputs = [
      swarm
      pkgs.ffmpeg-full
      pkgs.nginx
    ];
    # --flake: the vm type runs `nix run <this flake>#test-origin-vm-<profile>`.
    text = ''exec go-ffmpeg-hls-swarm up --flake ${lib.escapeShellArg "${self}"} "$@"'';
  };
  generateCompletion = pkgs.writeShellApplication {
    name = "generate-completion";
    runtimeInputs = [ swarm ];
    text = ''
      out=''${1:-completion}
      mkdir -p "$out"
      for shell in bash zsh fish; do
        case $shell in
          bash) file=go-ffmpeg-hls-swarm.bash ;;
          zsh) file=_go-ffmpeg-hls-swarm ;;
          fish) file=go-ffmpeg-hls-swarm.fish ;;
        esac
        tmp=$(mktemp "$out/.$file.XXXXXX")
        if ! go-ffmpeg-hls-swarm completion "$shell" >"$tmp"; then
          rm -f "$tmp"
          exit 1
        fi
        mv "$tmp" "$out/$file"
        echo "wrote $out/$file"
      done
    '';
  };

  apps = {
    default = app "go-ffmpeg-hls-swarm: load-test a live HLS URL" swarm;
    up = app "Start the test origin: pick a profile and a type (runner, container, vm)" up;
    imagegen = app "imagegen: OCI images from Nix store closures" native.imagegen;
    generate-completion = app "Write bash, zsh and fish completion scripts (default dir: ./completion)" generateCompletion;
    test-origin = app "Test origin, default profile, on this machine" originRunners.test-origin-default;
    swarm-client = app "Swarm client, default profile" swarmRunners.swarm-client-default;
  }
  // lib.mapAttrs (_: drv: app drv.meta.description drv) (originRunners // swarmRunners)
  // imageApps
  // (
    if isLinux then
      lib.mapAttrs (name: runner: app "Boot the test-origin MicroVM (${name})" runner) (
        vms // { test-origin-vm = vms.test-origin-vm-default; }
      )
    else
      lib.mapAttrs standIn linuxOnlyApps
  );

  # --- checks: quick (default), build, full --------------------------------------------------------
  goCheck =
    name: script:
    pkgs.stdenvNoCC.mkDerivation {
      name = "go-ffmpeg-hls-swarm-check-${name}";
      inherit src;
      nativeBuildInputs = [ swarm.go ];
      dontConfigure = true;
      buildPhase = ''
        runHook preBuild
        export HOME=$TMPDIR GOCACHE=$TMPDIR/go-cache GOPATH=$TMPDIR/go
        export GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-mod=vendor CGO_ENABLED=0
        cp -r --no-preserve=mode ${swarm.goModules} vendor
        ${script}
        runHook postBuild
      '';
      installPhase = "touch $out";
    };

  quick = {
    gofmt = pkgs.runCommand "go-ffmpeg-hls-swarm-check-gofmt" { nativeBuildInputs = [ swarm.go ]; } ''
      unformatted=$(cd ${src} && gofmt -l cmd internal profiles)
      if [ -n "$unformatted" ]; then
        echo "gofmt would change: $unformatted (run gofmt -w)" >&2
        exit 1
      fi
      touch $out
    '';
    vet = goCheck "vet" "go vet ./...";
    unit-tests = goCheck "unit-tests" "go test -short -count=1 ./...";
    shellcheck =
      pkgs.runCommand "go-ffmpeg-hls-swarm-check-shellcheck"
        {
          nativeBuildInputs = [ pkgs.shellcheck ];
          scripts = sourceOf "go-ffmpeg-hls-swarm-scripts" [
            "scripts"
            ".ci/run"
          ];
        }
        ''
          cd "$scripts"
          find . -type f \( -name '*.sh' -o -path ./.ci/run \) -print0 | xargs -0 shellcheck -S warning
          touch $out
        '';
    # Instantiates every package and app of this system (no builds): a broken attribute or an
    # unknown profile fails here. The JSON lists the .drv and program paths.
    nix-eval = pkgs.writeText "go-ffmpeg-hls-swarm-nix-eval.json" (
      builtins.toJSON {
        inherit (project) originProfileNames swarmProfileNames;
        packages = lib.mapAttrs (_: p: builtins.unsafeDiscardStringContext p.drvPath) packages;
        apps = lib.mapAttrs (_: a: builtins.unsafeDiscardStringContext a.program) apps;
      }
    );
  };
  build = quick // {
    inherit (native) go-ffmpeg-hls-swarm imagegen;
    inherit (originRunners) test-origin-default;
    inherit (imagePackages) go-ffmpeg-hls-swarm-container;
  };
  full = build // packages;
  tier = name: set: pkgs.linkFarm "go-ffmpeg-hls-swarm-checks-${name}" set;
in
{
  inherit packages apps;
  checks = quick;
  legacyPackages = {
    checks-quick = tier "quick" quick;
    checks-build = tier "build" build;
    checks-full = tier "full" full;
  };
  devShells.default = import ./shell.nix { inherit pkgs; };
  formatter = pkgs.nixfmt-tree;
}

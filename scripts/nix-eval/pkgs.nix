# TEST ONLY — stub package set: each builder returns a raw derivation whose `recorded` attribute
# is the JSON of the arguments it was called with (functions dropped), so tests can read them.
{ lib, system }:
let
  # scripts/nix-eval.sh --build creates this file (and ./vendor, what goModules would hold):
  # then buildGoModule compiles with the host's Go (/usr/local/go; Nix's sandbox is off on Debian),
  # closureInfo is real (exportReferencesGraph) and runCommand runs its command.
  real = builtins.pathExists ./real-builds;
  hostPath = "/usr/local/go/bin:/usr/bin:/bin";
  clean =
    v:
    if builtins.isFunction v then
      "<function>"
    else if lib.isDerivation v then
      "${v}"
    else if builtins.isAttrs v then
      lib.mapAttrs (_: clean) (builtins.removeAttrs v [ "passthru" ])
    else if builtins.isList v then
      map clean v
    else if builtins.isPath v then
      "${v}"
    else
      v;

  raw =
    {
      name,
      kind,
      args ? { },
      script ? "",
      passthru ? { },
      meta ? { },
      outputs ? [ "out" ],
    }:
    let
      drv = derivation {
        inherit name system outputs;
        builder = "/bin/sh";
        args = [
          "-c"
          ''
            echo "$recorded" >/dev/null
            ${if script == "" then ''echo "$kind" > $out'' else script}
          ''
        ];
        inherit kind;
        recorded = builtins.toJSON (clean args);
      };
    in
    drv // passthru // { inherit meta passthru; };

  tool =
    name:
    raw {
      inherit name;
      kind = "package";
      meta.mainProgram = name;
      script = ''
        /bin/mkdir -p $out/bin
        printf '#!/bin/sh\necho stub ${name} "$@"\n' > $out/bin/${name}
        /bin/chmod +x $out/bin/${name}
      '';
    };

  # A package whose outputs hold stub programs, e.g. { out = [ "prometheus" ]; cli = [ "promtool" ]; }
  # (nixpkgs' prometheus keeps promtool in its "cli" output); mainProgram: the first of out's.
  toolOutputs =
    name: programs:
    raw {
      inherit name;
      kind = "package";
      # out first: the first output is the package itself (`lp.prometheus` = out, as in nixpkgs).
      outputs = [ "out" ] ++ lib.remove "out" (lib.attrNames programs);
      meta.mainProgram = builtins.head programs.out;
      script = lib.concatStrings (
        lib.mapAttrsToList (
          output: names:
          let
            dir = "$" + output;
          in
          ''
            /bin/mkdir -p ${dir}/bin
          ''
          + lib.concatMapStrings (p: ''
            printf '#!/bin/sh\necho stub ${p} "$@"\n' > ${dir}/bin/${p}
            /bin/chmod +x ${dir}/bin/${p}
          '') names
        ) programs
      );
    };

  pkgs = {
    inherit lib system;
    stdenv = {
      hostPlatform = lib.systems.elaborate system;
      buildPlatform = lib.systems.elaborate system;
      isLinux = lib.hasSuffix "-linux" system;
      isDarwin = lib.hasSuffix "-darwin" system;
    };
    stdenvNoCC = pkgs.stdenv // {
      mkDerivation =
        args:
        raw {
          name = args.name or "${args.pname}-${args.version}";
          kind = "mkDerivation";
          inherit args;
          meta = args.meta or { };
        };
    };

    callPackage =
      fn: args:
      let
        f = if builtins.isFunction fn then fn else import fn;
      in
      f (builtins.intersectAttrs (builtins.functionArgs f) pkgs // args);

    buildGoModule =
      args:
      assert lib.assertMsg (args ? vendorHash) "buildGoModule: vendorHash is missing";
      assert lib.assertMsg (!(args ? CGO_ENABLED)) "buildGoModule: set env.CGO_ENABLED, not CGO_ENABLED";
      raw {
        name = "${args.pname}-${args.version}";
        kind = "buildGoModule";
        inherit args;
        meta = args.meta;
        passthru = {
          go = tool "go";
          goModules = raw {
            name = "${args.pname}-${args.version}-go-modules";
            kind = "goModules";
          };
        };
        script =
          if real then
            ''
              umask 000
              export HOME=$TMPDIR GOCACHE=/tmp/nix-eval-gocache GOFLAGS=-mod=vendor
              export GOPROXY=off GOTOOLCHAIN=local CGO_ENABLED=0 PATH=${hostPath}
              export GOOS=linux GOARCH=${if lib.hasPrefix "aarch64-" system then "arm64" else "amd64"}
              cp -r ${args.src} $TMPDIR/src
              chmod -R u+w $TMPDIR/src
              cp -r ${./vendor} $TMPDIR/src/vendor
              cd $TMPDIR/src
              mkdir -p $out/bin
              go build -trimpath -ldflags ${lib.escapeShellArg (lib.concatStringsSep " " args.ldflags)} \
                -o $out/bin/ ${lib.concatMapStringsSep " " (p: "./" + p) args.subPackages}
              # umask 000 keeps the shared Go cache writable for every nixbld user; Nix rejects
              # group- or world-writable outputs.
              chmod -R go-w $out
            ''
          else
            ''
              /bin/mkdir -p $out/bin
              printf '#!/bin/sh\necho stub ${args.meta.mainProgram} "$@"\n' > $out/bin/${args.meta.mainProgram}
              /bin/chmod +x $out/bin/${args.meta.mainProgram}
            '';
      };

    writeShellApplication =
      args:
      raw {
        inherit (args) name;
        kind = "writeShellApplication";
        inherit args;
        meta = (args.meta or { }) // {
          mainProgram = args.name;
        };
        # The real builder also runs shellcheck; here the script is written out so that a test
        # can read it (and run it when its runtimeInputs are stubs).
        script = ''
          /bin/mkdir -p $out/bin
          /bin/cat > $out/bin/${args.name} <<'STUB_EOF'
          #!/bin/bash
          set -o errexit -o nounset -o pipefail
          export PATH="${lib.makeBinPath (args.runtimeInputs or [ ])}:$PATH"
          ${lib.concatStrings (
            lib.mapAttrsToList (n: v: "export ${n}=${lib.escapeShellArg v}\n") (args.runtimeEnv or { })
          )}
          ${args.text}
          STUB_EOF
          /bin/chmod +x $out/bin/${args.name}
        '';
      };

    runCommand =
      name: env: buildCommand:
      if real then
        derivation (
          removeAttrs env [
            "passthru"
            "meta"
            "nativeBuildInputs"
          ]
          // {
            inherit name system;
            builder = "/bin/sh"; # Debian bash as a builder is often SIGKILLed by Nix 2.8 (measured: 5 of 8)
            args = [
              "-euc"
              buildCommand
            ];
            PATH = "${lib.makeBinPath (env.nativeBuildInputs or [ ])}:${hostPath}";
          }
        )
        // (env.passthru or { })
        // {
          meta = env.meta or { };
          recorded = builtins.toJSON (clean (env // { inherit buildCommand; }));
        }
      else
        raw {
          inherit name;
          kind = "runCommand";
          args = env // {
            inherit buildCommand;
          };
          meta = env.meta or { };
          passthru = env.passthru or { };
        };
    writeText =
      name: text:
      raw {
        inherit name;
        kind = "writeText";
        args = { inherit text; };
      };
    linkFarm =
      name: entries:
      raw {
        inherit name;
        kind = "linkFarm";
        args = { inherit entries; };
      };
    closureInfo =
      { rootPaths }:
      if real then
        # What nixpkgs' closureInfo writes, from the structured-attrs closure graph.
        derivation {
          name = "closure-info";
          inherit system;
          builder = "/bin/sh"; # Debian bash as a builder is often SIGKILLed by Nix 2.8 (measured: 5 of 8)
          __structuredAttrs = true;
          exportReferencesGraph.closure = rootPaths;
          args = [
            "-euc"
            ''
              export PATH=${hostPath}
              attrs=''${NIX_ATTRS_JSON_FILE:-$NIX_BUILD_TOP/.attrs.json}
              out=$(jq -r .outputs.out "$attrs")
              mkdir -p "$out"
              jq -r '.closure | map(.path) | sort | .[]' "$attrs" > "$out/store-paths"
              jq -r '.closure[] | .path, .narHash, (.narSize | tostring), "", (.references | length | tostring), .references[]' "$attrs" > "$out/registration"
              jq -r '[.closure[].narSize] | add | tostring' "$attrs" > "$out/total-nar-size"
            ''
          ];
        }
      else
        raw {
          name = "closure-info";
          kind = "closureInfo";
          args = { inherit rootPaths; };
        };
    mkShell =
      args:
      raw {
        name = args.name or "nix-shell";
        kind = "mkShell";
        inherit args;
      };
  }
  // lib.genAttrs [
    "go"
    "gopls"
    "gotools"
    "golangci-lint"
    "delve"
    "curl"
    "jq"
    "nil"
    "ffmpeg-full"
    "ffmpeg-headless"
    "nginx"
    "crane"
    "ko"
    "skopeo"
    "cacert"
    "shellcheck"
    "nixfmt-tree"
  ] tool
  // {
    prometheus = toolOutputs "prometheus" {
      out = [ "prometheus" ];
      cli = [ "promtool" ];
    };
    # nixpkgs' attribute name; the package (nginx_exporter) installs nginx-prometheus-exporter.
    prometheus-nginx-exporter = toolOutputs "prometheus-nginx-exporter" {
      out = [ "nginx-prometheus-exporter" ];
    };
  };
in
pkgs

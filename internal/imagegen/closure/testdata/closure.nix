# A small real closure for the closure parsers' tests, built offline with Debian's Nix 2.8:
#   nix-build closure.nix -A app --no-out-link --option substituters ''
# app -> lib -> base, app -> base, data (a single file), plus derivations that write what a
# Nix build sees of that closure: .attrs.json (exportReferencesGraph with structured attrs)
# and a closureInfo-style registration file.
{ system ? builtins.currentSystem }:
let
  sh = name: script: builtins.derivation { inherit name system; builder = "/bin/sh"; args = [ "-c" script ]; };
  base = sh "imagegen-test-base" "/bin/mkdir -p $out/lib; echo base > $out/lib/base.txt";
  data = sh "imagegen-test-data" "echo data > $out";
  lib = sh "imagegen-test-lib" "/bin/mkdir -p $out/lib; echo 'uses ${base}' > $out/lib/lib.txt";
  app = sh "imagegen-test-app" ''
    /bin/mkdir -p $out/bin
    printf '#!/bin/sh\necho ${lib} ${base} ${data}\n' > $out/bin/app
    /bin/chmod +x $out/bin/app
  '';
  # The builder gets .attrs.json in its build directory; copy it (jq from the host, sandbox off).
  attrs = builtins.derivation {
    name = "imagegen-test-attrs";
    inherit system;
    __structuredAttrs = true;
    exportReferencesGraph.closure = [ app ];
    builder = "/bin/sh";
    args = [ "-c" "out=$(/usr/bin/jq -r .outputs.out .attrs.json); /usr/bin/jq '{closure, exportReferencesGraph}' .attrs.json > $out" ];
  };
  # The registration format of nixpkgs' closureInfo: path, narHash, narSize, deriver (empty),
  # reference count, references.
  info = builtins.derivation {
    name = "imagegen-test-closure-info";
    inherit system;
    __structuredAttrs = true;
    exportReferencesGraph.closure = [ app ];
    builder = "/bin/sh";
    args = [ "-c" ''
      out=$(/usr/bin/jq -r .outputs.out .attrs.json)
      /bin/mkdir -p $out
      /usr/bin/jq -r '.closure[] | .path, .narHash, .narSize, "", (.references | length), .references[]' .attrs.json > $out/registration
      /usr/bin/jq -r '.closure[].path' .attrs.json > $out/store-paths
    '' ];
  };
in { inherit base data lib app attrs info; }

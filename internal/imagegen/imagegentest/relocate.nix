# Debian's dynamically linked programs in the Nix store without nixpkgs: the programs and each
# shared library they load become raw derivations (builder /bin/sh, one store path per library).
# patchelf points every RUNPATH at the store paths of exactly that file's DT_NEEDED libraries and
# each program's ELF interpreter at the store's loader, so Nix's reference scan records the real
# graph (nginx → libssl → libcrypto → libc → ld-linux) and the closure runs with no /usr or /lib.
# The root, NAME-VERSION, holds bin/<name> for every program.
#
# `graph` is a JSON file written by RelocatedClosure (relocate.go): the root's name and version,
# per program its host file, name in bin/, loader soname and DT_NEEDED sonames, and per library
# its store name, host file and DT_NEEDED.
{ graph, patchelf ? "/usr/bin/patchelf", system ? builtins.currentSystem }:
let
  g = builtins.fromJSON (builtins.readFile graph);
  drv = name: script: builtins.derivation {
    inherit name system;
    builder = "/bin/sh";
    args = [ "-e" "-c" script ];
  };
  # The host file enters the store as a hashed input; only the patched copy is in the closure.
  src = name: file: builtins.path { path = file; name = "${name}-source"; };
  rpath = needed: builtins.concatStringsSep ":" (map (n: "${libs.${n}}/lib") needed);
  patchRpath = needed: file:
    if needed == [ ] then "" else "${patchelf} --set-rpath ${rpath needed} ${file}";
  lib = l: drv l.name ''
    /bin/mkdir -p $out/lib
    /bin/cp ${src l.name l.file} $out/lib/${l.base}
    /bin/chmod 0755 $out/lib/${l.base}
    ${patchRpath l.needed "$out/lib/${l.base}"}
    /bin/chmod 0555 $out/lib/${l.base}
    ${if l.base == l.soname then "" else "/bin/ln -s ${l.base} $out/lib/${l.soname}"}
  '';
  libs = builtins.listToAttrs (map (l: { name = l.soname; value = lib l; }) g.libs);
  program = p: ''
    /bin/cp ${src p.name p.file} $out/bin/${p.name}
    /bin/chmod 0755 $out/bin/${p.name}
    ${patchelf} --set-interpreter ${libs.${p.interpreter}}/lib/${p.interpreter} $out/bin/${p.name}
    ${patchRpath p.needed "$out/bin/${p.name}"}
    /bin/chmod 0555 $out/bin/${p.name}
  '';
in
drv "${g.name}-${g.version}" ''
  /bin/mkdir -p $out/bin
  ${builtins.concatStringsSep "\n" (map program g.programs)}
''

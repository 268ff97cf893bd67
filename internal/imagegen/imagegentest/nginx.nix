# Debian's nginx in the Nix store without nixpkgs: the program and each shared library it loads
# become raw derivations (builder /bin/sh, one store path per library). patchelf points every
# RUNPATH at the store paths of exactly that file's DT_NEEDED libraries and the program's ELF
# interpreter at the store's loader, so Nix's reference scan records the real graph
# (nginx → libssl → libcrypto → libc → ld-linux) and the closure runs with no /usr or /lib.
#
# `graph` is a JSON file written by NginxClosure (nginx.go): the program, its version, its
# loader and DT_NEEDED sonames, and per library its store name, host file and DT_NEEDED.
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
in
drv "nginx-${g.version}" ''
  /bin/mkdir -p $out/bin
  /bin/cp ${src "nginx" g.program} $out/bin/nginx
  /bin/chmod 0755 $out/bin/nginx
  ${patchelf} --set-interpreter ${libs.${g.interpreter}}/lib/${g.interpreter} $out/bin/nginx
  ${patchRpath g.needed "$out/bin/nginx"}
  /bin/chmod 0555 $out/bin/nginx
''

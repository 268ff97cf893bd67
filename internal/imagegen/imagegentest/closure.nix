# A real three-path store closure for imagegen's tests, built with Debian's Nix and no nixpkgs:
#   NAME-VERSION (bin/NAME, the program)  →  NAME-profiles-VERSION (data)  →  NAME-licenses
# The program is built by `go build` outside and passed in as `bin` (copied into the store).
# Every builder runs on the host (/bin/sh); an arm64 program is just bytes here.
{ bin, profiles, name ? "go-ffmpeg-hls-swarm", version ? "0.1.0", system ? builtins.currentSystem }:
let
  drv = n: script: builtins.derivation {
    name = n;
    inherit system;
    builder = "/bin/sh";
    args = [ "-c" script ];
  };
  licenses = drv "${name}-licenses" "echo 'MIT License (test fixture)' > $out";
  data = drv "${name}-profiles-${version}" ''
    /bin/mkdir -p $out/share
    /bin/cp ${profiles}/*.json $out/share/
    /bin/ln -s ${licenses} $out/share/LICENSE
  '';
in
drv "${name}-${version}" ''
  /bin/mkdir -p $out/bin $out/share
  /bin/cp ${bin} $out/bin/${name}
  /bin/chmod 0555 $out/bin/${name}
  /bin/ln -s ${data}/share $out/share/${name}
''

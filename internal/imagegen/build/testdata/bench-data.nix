# Store paths of arch-independent data (copies of /usr/share/<dir>), and a root that references
# them all: a closure an amd64 and an arm64 image can share whole.
{ dirs }:
let
  mk = i: d: builtins.derivation {
    name = "imagegen-bench-data-${toString i}";
    system = "x86_64-linux";
    builder = "/bin/sh";
    args = [ "-c" "/bin/mkdir -p $out && { /bin/cp -rL /usr/share/${d}/. $out/ 2>/dev/null; /bin/true; }" ];
  };
  parts = builtins.genList (i: mk i (builtins.elemAt dirs i)) (builtins.length dirs);
in builtins.derivation {
  name = "imagegen-bench-data";
  system = "x86_64-linux";
  builder = "/bin/sh";
  args = [ "-c" ("/bin/mkdir -p $out; " + builtins.concatStringsSep "; " (map (p: "echo ${p} >> $out/parts") parts)) ];
}

# Real store paths for the layer tests, built offline with Debian's Nix 2.8:
#   nix-build store.nix -A tree --no-out-link --option substituters ''
#   nix-build store.nix -A variant --argstr root /nix/store/…-ffmpeg-… --argstr byte a …
{ system ? builtins.currentSystem, root ? "", byte ? "a" }:
let
  sh = name: script: builtins.derivation { inherit name system; builder = "/bin/sh"; args = [ "-c" script ]; };
  dep = sh "imagegen-layer-dep" "/bin/mkdir -p $out/lib; echo dep > $out/lib/dep.txt";
  long = "a-directory-name-long-enough-that-the-whole-tar-name-exceeds-one-hundred-characters";
in
{
  inherit dep;
  # A store path may also be a single file or a single symlink.
  file = sh "imagegen-layer-file" "echo file > $out";
  link = sh "imagegen-layer-link" "/bin/ln -s ${dep}/lib $out";
  # Every kind of entry a store path holds: executable and plain files, nested and empty
  # directories, relative and absolute (store) symlinks, a hard link, a very long name.
  tree = sh "imagegen-layer-tree" ''
    /bin/mkdir -p $out/bin $out/share/doc $out/empty $out/${long}/${long}
    printf '#!/bin/sh\necho ${dep}\n' > $out/bin/app
    /bin/chmod 755 $out/bin/app
    echo readme > $out/share/doc/README
    /bin/ln $out/share/doc/README $out/share/doc/README.hardlink
    /bin/ln -s ../share/doc/README $out/bin/readme
    /bin/ln -s ${dep}/lib/dep.txt $out/share/dep
    echo deep > $out/${long}/${long}/file
  '';
  # A copy of another store path (e.g. the FFmpeg fixture's root) with one byte appended to
  # one file: a new path with the same references, the most common change to an image.
  variant = builtins.derivation {
    name = "imagegen-variant-${byte}";
    inherit system;
    src = builtins.storePath root;
    builder = "/bin/sh";
    args = [ "-c" ''
      /bin/cp -R $src $out
      /bin/chmod -R u+w $out
      f=$(/usr/bin/find $out -type f | /usr/bin/sort | /usr/bin/head -n 1)
      printf '${byte}' >> "$f"
    '' ];
  };
}

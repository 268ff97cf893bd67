# The development shell: `nix develop`. Go and its tools, FFmpeg and nginx for the test origin,
# and the image tools (crane, ko, skopeo) used beside imagegen.
{ pkgs }:
pkgs.mkShell {
  packages = with pkgs; [
    go
    gopls
    gotools
    golangci-lint
    delve
    curl
    jq
    nil
    ffmpeg-full
    nginx
    crane
    ko
    skopeo
  ];

  # Static binaries by default, as the Makefile and the Nix package build them.
  CGO_ENABLED = "0";
}

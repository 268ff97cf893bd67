# Project metadata and the profile lists, read from profiles/*.json (the single source of truth
# that the Go code embeds). Everything that Nix generates per profile derives from these lists.
{ lib }:
let
  namesOf = file: map (p: p.name) (lib.importJSON file).profiles;

  # pick returns name when it is a profile of this kind, and otherwise throws the same
  # one-line message as internal/profiles: what is wrong and which names are valid.
  pick =
    kind: names: name:
    if lib.elem name names then
      name
    else
      throw "unknown ${kind} profile \"${name}\": valid profiles are ${lib.concatStringsSep ", " names}";

  origin = lib.importJSON ../profiles/origin.json;
in
rec {
  pname = "go-ffmpeg-hls-swarm";
  modulePath = "github.com/randomizedcoder/go-ffmpeg-hls-swarm";
  homepage = "https://github.com/randomizedcoder/go-ffmpeg-hls-swarm";

  originProfileNames = namesOf ../profiles/origin.json;
  swarmProfileNames = namesOf ../profiles/swarm.json;

  originProfile = pick "origin" originProfileNames;
  swarmProfile = pick "swarm-client" swarmProfileNames;

  # The origin profiles whose MicroVM sits on a TAP interface (profiles/origin.json "network").
  tapProfileNames = map (p: p.name) (lib.filter (p: (p.network or "user") == "tap") origin.profiles);
  isTapProfile = name: lib.elem (originProfile name) tapProfileNames;

  # Systems of the flake; the Linux ones get the NixOS-based outputs.
  systems = [
    "x86_64-linux"
    "aarch64-linux"
    "x86_64-darwin"
    "aarch64-darwin"
  ];
  linuxSystems = lib.filter (lib.hasSuffix "-linux") systems;
  isLinux = system: lib.hasSuffix "-linux" system;
  # The Linux system whose binaries go into images built on `system` (same CPU).
  linuxSystemFor = system: lib.replaceStrings [ "-darwin" ] [ "-linux" ] system;
  # imagegen's arch name for a Linux system.
  archOf = system: if lib.hasPrefix "x86_64-" system then "amd64" else "arm64";
}

# TEST ONLY — stands in for nixpkgs' nixos/modules/virtualisation/docker-image.nix.
{ ... }:
{ }

// Command imagegen builds layered, multi-arch OCI images from Nix store closures and writes them
// as docker-archive tarballs, OCI layouts, to a registry or into the Docker engine. This package
// only wires flags to internal/imagegen/….
package main

import "os"

func main() {
	os.Exit(execute(newRootCmd(), os.Args[1:], os.Stderr))
}

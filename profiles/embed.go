// Package profiles holds the project's profile data: the test-origin and swarm-client
// profiles that Go embeds and Nix reads with builtins.fromJSON. Logic lives in internal/profiles.
package profiles

import "embed"

// FS is every profile file of this directory, and the image specs in images/.
//
//go:embed *.json images/*.json
var FS embed.FS

// Command go-ffmpeg-hls-swarm load-tests a live HLS stream with a supervised swarm of FFmpeg
// clients, and runs the bundled test origin. This package only wires flags to internal/….
package main

import "os"

func main() {
	root := newRootCmd()
	root.AddCommand(
		newOriginCmd(),
		newHealthcheckCmd(),
		newUpCmd(),
		newMergeCmd(),
		newReportCmd(),
	)
	os.Exit(execute(root, os.Args[1:]))
}

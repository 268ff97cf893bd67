// Package originimage holds the end-to-end proof of the test-origin image
// (profiles/images/test-origin.json): imagegen builds it from three real store closures — the
// swarm binary, the FFmpeg closure fixture and Debian's nginx relocated into the store — loads it
// into Docker, and the container serves a live HLS stream that a real swarm plays.
package originimage

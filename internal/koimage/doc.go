// Package koimage holds the end-to-end proof of the ko path: imagegen pushes the FFmpeg base
// (profiles/images/ffmpeg-base.json) to a registry and `ko build` (.ko.yaml) puts the binary on it.
package koimage

package ffmpeg

import (
	"os"
	"testing"
)

func TestParseVersion(t *testing.T) {
	tests := []struct {
		out          string
		major, minor int
		known        bool
	}{
		{"ffmpeg version 5.1.9-0+deb12u1 Copyright (c) 2000-2026 the FFmpeg developers", 5, 1, true},
		{"ffmpeg version n6.1.1 Copyright (c) 2000-2023 the FFmpeg developers", 6, 1, true},
		{"ffmpeg version 7.1-static https://johnvansickle.com/ffmpeg/  Copyright (c) 2000-2024", 7, 1, true},
		{"ffmpeg version 8.0 Copyright (c) 2000-2025 the FFmpeg developers", 8, 0, true},
		{"ffmpeg version N-118000-g1234abcd Copyright (c) 2000-2025 the FFmpeg developers", 0, 0, false},
	}
	for _, tt := range tests {
		v, err := ParseVersion(tt.out)
		if err != nil {
			t.Fatalf("%q: %v", tt.out, err)
		}
		if v.Major != tt.major || v.Minor != tt.minor || v.Known() != tt.known {
			t.Errorf("%q: got %d.%d known=%v, want %d.%d known=%v", tt.out, v.Major, v.Minor, v.Known(), tt.major, tt.minor, tt.known)
		}
	}
	if _, err := ParseVersion("bash: ffmpeg: command not found"); err == nil {
		t.Error("no error for output without a version line")
	}
}

func TestParseVersionCaptured(t *testing.T) {
	b, err := os.ReadFile("testdata/5.1/version.txt")
	if err != nil {
		t.Fatal(err)
	}
	v, err := ParseVersion(string(b))
	if err != nil || v.Major != 5 || v.Minor != 1 || v.Raw != "5.1.9-0+deb12u1" {
		t.Fatalf("got %+v, %v", v, err)
	}
}

func TestVersionAtLeast(t *testing.T) {
	tests := []struct {
		v            Version
		major, minor int
		want         bool
	}{
		{Version{Major: 5, Minor: 1}, 6, 0, false},
		{Version{Major: 6, Minor: 0}, 6, 0, true},
		{Version{Major: 7, Minor: 1}, 6, 1, true},
		{Version{Major: 6, Minor: 0}, 6, 1, false},
		{Version{Raw: "N-1-gabc"}, 8, 0, true},
	}
	for _, tt := range tests {
		if got := tt.v.AtLeast(tt.major, tt.minor); got != tt.want {
			t.Errorf("%v.AtLeast(%d,%d) = %v", tt.v, tt.major, tt.minor, got)
		}
	}
}

package up

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/shellquote"
)

// recorder stands in for execve, PATH and docker so Run's decisions can be checked.
type recorder struct {
	execPath string
	execArgv []string
	onPath   map[string]bool
	checks   [][]string
	checkErr error
}

func (r *recorder) options(o Options) Options {
	o.Exec = func(path string, argv, _ []string) error {
		r.execPath, r.execArgv = path, argv
		return nil
	}
	o.LookPath = func(name string) (string, error) {
		if r.onPath[name] {
			return "/usr/bin/" + name, nil
		}
		return "", errors.New("not found")
	}
	o.Check = func(_ context.Context, argv []string) error {
		r.checks = append(r.checks, argv)
		return r.checkErr
	}
	return o
}

func TestRun(t *testing.T) {
	set := loadProfiles(t)
	host := kvmHost(t)
	tests := []struct {
		name     string
		opts     Options
		rec      recorder
		wantOut  []string
		wantExec string // "" = must not exec
		wantErr  string
	}{
		{name: "no terminal takes the defaults and execs the runner",
			opts:     Options{Request: Request{Self: "/bin/me"}},
			wantOut:  []string{"No terminal: using the defaults (profile=default, type=runner)", "Underlying: /bin/me origin --profile default"},
			wantExec: "/bin/me"},
		{name: "dry run starts nothing",
			opts:    Options{Request: Request{Self: "/bin/me", Profile: "debug"}, DryRun: true},
			wantOut: []string{"Profile:    debug", "Dry run: nothing started."}},
		{name: "chosen profile: no defaults message",
			opts:     Options{Request: Request{Self: "/bin/me", Profile: "logged", Type: "runner"}},
			wantExec: "/bin/me"},
		{name: "container with image loaded",
			opts:     Options{Request: Request{Type: "container", Image: DefaultImage}},
			rec:      recorder{onPath: map[string]bool{"docker": true}},
			wantExec: "/usr/bin/docker"},
		{name: "container without docker",
			opts:    Options{Request: Request{Type: "container"}},
			wantErr: "docker, which is not on PATH"},
		{name: "container without the image",
			opts:    Options{Request: Request{Type: "container"}},
			rec:     recorder{onPath: map[string]bool{"docker": true}, checkErr: errors.New("exit 1")},
			wantErr: "nix run .#load-test-origin-container"},
		{name: "vm without nix",
			opts:    Options{Request: Request{Type: "vm"}},
			wantErr: "vm needs nix"},
		{name: "vm with nix",
			opts:     Options{Request: Request{Type: "vm", Profile: "tap"}},
			rec:      recorder{onPath: map[string]bool{"nix": true}},
			wantExec: "/usr/bin/nix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			o := tt.rec.options(tt.opts)
			o.Host, o.Out = host, &out
			err := Run(context.Background(), set, o)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				if tt.rec.execPath != "" {
					t.Errorf("exec'd %s despite the error", tt.rec.execPath)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			if tt.rec.execPath != tt.wantExec {
				t.Errorf("exec path = %q, want %q", tt.rec.execPath, tt.wantExec)
			}
			if tt.wantExec != "" && !strings.Contains(out.String(), "Underlying: "+shellquote.Join(tt.rec.execArgv)) {
				t.Errorf("printed command differs from the exec'd %q:\n%s", tt.rec.execArgv, out.String())
			}
		})
	}
}

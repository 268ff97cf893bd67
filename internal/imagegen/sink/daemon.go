package sink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/daemon"

	"github.com/moby/moby/client"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/regclient"
)

// DockerDaemon loads one platform into the Docker engine at Host (default $DOCKER_HOST) through
// the engine's /images/load API, and tags it with every tag.
type DockerDaemon struct {
	Host     string
	Platform string
	// Zstd says the layers are zstd: refused for an engine older than Docker 23.
	Zstd bool
}

func (d *DockerDaemon) String() string { return "docker-daemon" }

func (d *DockerDaemon) client() (*client.Client, error) {
	opts := []client.Opt{client.FromEnv}
	if d.Host != "" {
		opts = append(opts, client.WithHost(d.Host))
	}
	c, err := client.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("docker engine client: %w", err)
	}
	return c, nil
}

// Check pings the engine, so a missing one fails before the build, and refuses zstd layers for
// an engine that cannot load them.
func (d *DockerDaemon) Check(ctx context.Context) error {
	c, err := d.client()
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	p, err := c.Ping(ctx, client.PingOptions{})
	if err != nil {
		return fmt.Errorf("docker engine at %s does not answer (%v): start dockerd or set DOCKER_HOST", c.DaemonHost(), regclient.RootCause(err))
	}
	if d.Zstd {
		return checkZstd(d.String(), c.DaemonHost(), p.APIVersion)
	}
	return nil
}

// Stage loads the chosen platform into the engine under a temporary tag; Commit gives it the
// image's tags and drops the temporary one.
func (d *DockerDaemon) Stage(ctx context.Context, img Image) (Staged, error) {
	one, _, err := selectOne(img.Index, d.Platform, "docker-daemon")
	if err != nil {
		return nil, err
	}
	ts, err := tags(img.Tags)
	if err != nil {
		return nil, err
	}
	if len(ts) == 0 {
		return nil, fmt.Errorf("docker-daemon needs a tag: set the image name")
	}
	c, err := d.client()
	if err != nil {
		return nil, err
	}
	tmp := ts[0].Context().Tag(fmt.Sprintf("imagegen-staged-%d", time.Now().UnixNano()))
	st := &stagedLoad{c: c, tmp: tmp, tags: ts}
	resp, err := daemon.Write(tmp, one, daemon.WithContext(ctx), daemon.WithClient(c))
	if err == nil {
		err = loadError(resp)
	}
	if err != nil {
		st.Discard()
		return nil, fmt.Errorf("load into docker engine %s: %w", c.DaemonHost(), err)
	}
	return st, nil
}

// stagedLoad is an image loaded into an engine under a temporary tag.
type stagedLoad struct {
	c    *client.Client
	tmp  name.Tag
	tags []name.Tag
}

// Commit tags the loaded image with every tag and removes the temporary tag.
func (st *stagedLoad) Commit(ctx context.Context) error {
	defer st.c.Close()
	for _, t := range st.tags {
		if err := daemon.Tag(st.tmp, t, daemon.WithContext(ctx), daemon.WithClient(st.c)); err != nil {
			st.untag()
			return fmt.Errorf("tag %s: %w", t, err)
		}
	}
	st.untag()
	return nil
}

// Discard removes the temporary tag (and so the image, unless something else holds it).
func (st *stagedLoad) Discard() {
	st.untag()
	st.c.Close()
}

func (st *stagedLoad) untag() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, _ = st.c.ImageRemove(ctx, st.tmp.String(), client.ImageRemoveOptions{})
}

// loadError finds an error message in the engine's /images/load JSON stream (the HTTP status is
// 200 even when the load fails half way).
func loadError(resp string) error {
	dec := json.NewDecoder(strings.NewReader(resp))
	for {
		var m struct {
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return nil // not JSON: nothing we can read an error from
		}
		if m.Error != "" {
			return errors.New(m.Error)
		}
		if m.ErrorDetail.Message != "" {
			return errors.New(m.ErrorDetail.Message)
		}
	}
}

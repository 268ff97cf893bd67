package sink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/daemon"
	"github.com/moby/moby/client"
)

// DockerDaemon loads one platform into the Docker engine at Host (default $DOCKER_HOST) through
// the engine's /images/load API, and tags it with every tag.
type DockerDaemon struct {
	Host     string
	Platform string
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

// Check pings the engine, so a missing one fails before the build.
func (d *DockerDaemon) Check(ctx context.Context) error {
	c, err := d.client()
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := c.Ping(ctx, client.PingOptions{}); err != nil {
		return fmt.Errorf("docker engine at %s does not answer (%v): start dockerd or set DOCKER_HOST", c.DaemonHost(), rootCause(err))
	}
	return nil
}

// Write streams a docker-archive of the chosen platform into the engine.
func (d *DockerDaemon) Write(ctx context.Context, img Image) error {
	one, _, err := selectOne(img.Index, d.Platform, "docker-daemon")
	if err != nil {
		return err
	}
	ts, err := tags(img.Tags)
	if err != nil {
		return err
	}
	if len(ts) == 0 {
		return fmt.Errorf("docker-daemon needs a tag: set the image name")
	}
	c, err := d.client()
	if err != nil {
		return err
	}
	defer c.Close()
	opts := []daemon.Option{daemon.WithContext(ctx), daemon.WithClient(c)}
	resp, err := daemon.Write(ts[0], one, opts...)
	if err != nil {
		return fmt.Errorf("load into docker engine %s: %w", c.DaemonHost(), err)
	}
	if err := loadError(resp); err != nil {
		return fmt.Errorf("load into docker engine %s: %w", c.DaemonHost(), err)
	}
	for _, t := range ts[1:] {
		if err := daemon.Tag(ts[0], t, opts...); err != nil {
			return fmt.Errorf("tag %s: %w", t, err)
		}
	}
	return nil
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

func rootCause(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
}

// Package regclient is how imagegen talks to registries: credentials as Docker, podman and crane
// find them (go-containerregistry's default keychain: config.json, credential helpers), plain
// HTTP only for a loopback registry or when asked (--insecure), and refusals as one line that
// names the registry and how to log in.
package regclient

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/version"
)

// Keychain is where credentials come from: $DOCKER_CONFIG/config.json (default
// ~/.docker/config.json) with its credHelpers/credsStore, then podman's auth.json.
var Keychain = authn.DefaultKeychain

// Access says how to reach registries.
type Access struct {
	// Insecure allows plain HTTP and unverified TLS for every registry (loopback registries
	// may always answer over plain HTTP).
	Insecure bool
}

// Loopback reports whether a registry host ("127.0.0.1:5000", "localhost", "[::1]:5000") is this machine.
func Loopback(registry string) bool {
	host := registry
	if h, _, err := net.SplitHostPort(registry); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ParseReference parses an image reference; a loopback registry, or any with Insecure, may be
// reached over plain HTTP (go-containerregistry tries HTTPS first).
func (a Access) ParseReference(s string) (name.Reference, error) {
	ref, err := name.ParseReference(s, name.WeakValidation)
	if err != nil {
		return nil, err
	}
	if a.Insecure || Loopback(ref.Context().RegistryStr()) {
		ref, err = name.ParseReference(s, name.WeakValidation, name.Insecure)
	}
	return ref, err
}

// Transport is the HTTP transport for registries: it refuses plain HTTP to a registry that is
// not on this machine unless Insecure, and skips TLS verification only when Insecure.
func (a Access) Transport() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if a.Insecure {
		t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // asked for with --insecure
	}
	return &plainHTTPGuard{inner: t, insecure: a.Insecure}
}

type plainHTTPGuard struct {
	inner    http.RoundTripper
	insecure bool
}

func (g *plainHTTPGuard) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Scheme == "http" && !g.insecure && !Loopback(r.URL.Host) {
		return nil, fmt.Errorf("plain HTTP to %s refused: it is not on this machine (pass --insecure to allow it)", r.URL.Host)
	}
	return g.inner.RoundTrip(r)
}

// Options are go-containerregistry's remote options for ctx: the keychain, the transport and
// imagegen's user agent.
func (a Access) Options(ctx context.Context) []remote.Option {
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(Keychain),
		remote.WithTransport(a.Transport()),
		remote.WithUserAgent("imagegen/" + version.Version),
	}
}

// CheckPush tells before a build whether ref can be pushed to: it reaches the registry,
// authenticates as the keychain says (basic or Bearer token), and starts and cancels a blob
// upload, which is where registries check the right to push.
func (a Access) CheckPush(ctx context.Context, ref name.Reference) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	repo := ref.Context()
	auth, err := authn.Resolve(ctx, Keychain, repo)
	if err != nil {
		return fmt.Errorf("credentials for %s: %w (check %s)", repo.RegistryStr(), err, ConfigFile())
	}
	tr, err := transport.NewWithContext(ctx, repo.Registry, auth, a.Transport(), []string{repo.Scope(transport.PushScope)})
	if err != nil {
		return Explain(err, repo.Registry, "push to "+repo.Name())
	}
	client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	u := fmt.Sprintf("%s://%s/v2/%s/blobs/uploads/", repo.Scheme(), repo.RegistryStr(), repo.RepositoryStr())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return Explain(err, repo.Registry, "push to "+repo.Name())
	}
	err = transport.CheckError(resp, http.StatusAccepted)
	resp.Body.Close()
	if err != nil {
		return Explain(err, repo.Registry, "push to "+repo.Name())
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		if lu, err := req.URL.Parse(loc); err == nil {
			if del, err := http.NewRequestWithContext(ctx, http.MethodDelete, lu.String(), nil); err == nil {
				if r, err := client.Do(del); err == nil {
					r.Body.Close()
				}
			}
		}
	}
	return nil
}

// ConfigFile is the Docker config file the keychain reads first.
func ConfigFile() string {
	dir := os.Getenv("DOCKER_CONFIG")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = "~"
		}
		dir = filepath.Join(home, ".docker")
	}
	return filepath.Join(dir, "config.json")
}

// Explain turns a registry error into one line: a refusal (401/403) names the registry and how
// to log in; an unreachable registry says so; anything else keeps ggcr's text.
func Explain(err error, reg name.Registry, what string) error {
	if err == nil {
		return nil
	}
	host := reg.RegistryStr()
	var te *transport.Error
	if errors.As(err, &te) && (te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden) {
		status := fmt.Sprintf("%d %s", te.StatusCode, http.StatusText(te.StatusCode))
		auth, rerr := authn.Resolve(context.Background(), Keychain, reg)
		if rerr == nil && auth != authn.Anonymous {
			return fmt.Errorf("registry %s refused to %s with the credentials imagegen found for it (%s): log in again with `docker login %s` (credentials are read from %s and its credential helpers)",
				host, what, status, host, ConfigFile())
		}
		return fmt.Errorf("registry %s refused to %s without credentials (%s): log in with `docker login %s` (imagegen reads %s and its credential helpers, as docker and crane do)",
			host, what, status, host, ConfigFile())
	}
	var ce *tls.CertificateVerificationError
	if errors.As(err, &ce) {
		return fmt.Errorf("registry %s: its TLS certificate is not trusted (%v): add its CA to the system's (or SSL_CERT_FILE), or pass --insecure", host, ce)
	}
	var ne net.Error
	var oe *net.OpError
	if errors.As(err, &oe) || errors.As(err, &ne) {
		return fmt.Errorf("registry %s is unreachable (%v): start it or fix the reference", host, RootCause(err))
	}
	return fmt.Errorf("registry %s: %s: %w", host, what, err)
}

// RootCause is the innermost error that err wraps (the dial or syscall error under a chain of
// url, net and ggcr wrappers), for one-line messages.
func RootCause(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
}

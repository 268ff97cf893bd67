package main

import (
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"

	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/build"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/progress"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/regclient"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/sign"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/sink"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/imagegen/spec"
	"github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/version"
)

func newBuildCmd() *cobra.Command {
	var (
		sf        specFlags
		outputs   []string
		platform  string
		cacheDir  string
		noCache   bool
		signKey   string
		noSBOM    bool
		quiet     bool
		dockerHst string
		insecure  bool
	)
	c := &cobra.Command{
		Use:   "build --output KIND:TARGET [--spec FILE] [--arch A,B --root ARCH=PATH …]",
		Short: "Build the image of each arch and write it to one or more outputs",
		Long: `build reads each arch's closure (nix path-info, or a closure file), plans at most --max-layers
layers (the roots on top, stable paths merged at the bottom), writes deterministic layers plus a
customisation layer (/etc/passwd, /tmp 1777, /bin links, CA certificates), and writes the image:

  docker-archive:FILE  a docker load tarball of ONE platform (--platform when several are built)
  oci:DIR              an OCI layout holding the index of every platform
  registry:REF         pushes the index; blobs the registry has are not sent again. Credentials
                       are those of ` + "`docker login`" + `: $DOCKER_CONFIG/config.json (default
                       ~/.docker/config.json) and its credential helpers; basic and token auth
  docker-daemon        loads one platform into the engine at $DOCKER_HOST

An SPDX SBOM of each closure is written beside file outputs (FILE.spdx.json) and attached in a
registry as an OCI referrer. The creation time is SOURCE_DATE_EPOCH (default 1): the same
inputs give the same digests. The index digest is printed on stdout.`,
		Example: `  # both arches into an OCI layout
  imagegen build --spec profiles/images/go-ffmpeg-hls-swarm.json --arch amd64,arm64 \
    --root amd64=/nix/store/…-go-ffmpeg-hls-swarm-0.1.0 --root arm64=/nix/store/…-go-ffmpeg-hls-swarm-0.1.0 \
    --output oci:./swarm-image

  # one arch as a docker load tarball, and into the local engine
  imagegen build --spec profiles/images/go-ffmpeg-hls-swarm.json --root ./result \
    --output docker-archive:swarm.tar --output docker-daemon

  # push both arches to a registry
  imagegen build --spec profiles/images/swarm-client.json --arch amd64,arm64 \
    --root amd64=.#swarm-client --root arm64=.#packages.aarch64-linux.swarm-client \
    --output registry:127.0.0.1:5000/swarm-client:latest`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if len(outputs) == 0 {
				return fmt.Errorf("no --output: use %s", sink.Kinds)
			}
			s, err := sf.resolve(cmd)
			if err != nil {
				return err
			}
			if platform != "" && !strings.Contains(platform, "/") {
				platform = "linux/" + platform
			}
			var platforms []string
			for _, a := range s.Arches {
				platforms = append(platforms, platformOf(a))
			}
			var signer *sign.Signer
			if signKey != "" {
				if !slices.ContainsFunc(outputs, func(o string) bool { return strings.HasPrefix(o, "registry:") }) {
					return fmt.Errorf("--sign-key signs what is pushed to a registry, and there is no registry: output: add one or drop --sign-key")
				}
				if signer, err = sign.LoadKey(signKey, []byte(os.Getenv(sign.PasswordEnv))); err != nil {
					return err
				}
			}
			var sinks []sink.Sink
			for _, out := range outputs {
				sk, err := sink.Parse(out, sink.Options{Platform: platform, Platforms: platforms, DockerHost: dockerHst,
					Access: regclient.Access{Insecure: insecure}, Signer: signer, Compression: s.Compression})
				if err != nil {
					return err
				}
				if ch, ok := sk.(sink.Checker); ok {
					if err := ch.Check(ctx); err != nil {
						return err
					}
				}
				sinks = append(sinks, sk)
			}
			pr := progress.Stderr()
			logLevel := slog.LevelInfo
			if quiet {
				logLevel = slog.LevelWarn
			}
			log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel}))
			cache := build.CacheDir(build.CacheChoice{Dir: cacheDir, Off: noCache}, os.Getenv, log)
			opts := build.Options{NixBin: sf.nix, CacheDir: cache, Tool: "imagegen-" + version.Version, Log: log}
			if !quiet {
				opts.Progress = pr
			}
			res, err := build.Build(ctx, s, opts)
			if err != nil {
				return err
			}
			img := sink.Image{Index: res.Index, Tags: s.Refs()}
			if !noSBOM {
				if img.SBOMs, err = res.SBOMs(); err != nil {
					return err
				}
			}
			if err := writeOutputs(cmd, sinks, img, opts.Progress); err != nil {
				return err
			}
			for _, sk := range sinks {
				log.Info("written", "output", sk.String())
			}
			pr.Wait()
			d, err := res.Index.Digest()
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), d.String())
			return err
		},
	}
	sf.register(c)
	f := c.Flags()
	f.StringArrayVarP(&outputs, "output", "o", nil, "where to write: "+sink.Kinds+" (repeatable)")
	f.StringVar(&platform, "platform", "", "the platform for docker-archive / docker-daemon, e.g. linux/amd64")
	f.StringVar(&cacheDir, "cache", os.Getenv("IMAGEGEN_CACHE"), "layer cache directory, reused across builds ($IMAGEGEN_CACHE; default $XDG_CACHE_HOME/imagegen/layers, else ~/.cache/imagegen/layers)")
	f.StringVar(&signKey, "sign-key", "", "sign what registry: outputs push (index, platform manifests, SBOM referrers) for `cosign verify --key`: a key from `cosign generate-key-pair` (password in $COSIGN_PASSWORD) or a PEM ECDSA P-256 key")
	f.BoolVar(&noCache, "no-cache", false, "build every layer again and keep none (the cache is on by default; wins over --cache)")
	f.BoolVar(&noSBOM, "no-sbom", false, "do not write or attach the SPDX SBOM")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress, only warnings and errors")
	f.BoolVar(&insecure, "insecure", false, insecureHelp)
	f.StringVar(&dockerHst, "docker-host", "", "Docker engine for docker-daemon (default $DOCKER_HOST)")
	return c
}

// writeOutputs writes every output so that they are in place together or none is (sink.WriteAll),
// with byte progress for pushes and tarballs (pr nil: none). A push's total is known from the
// index before the first byte, so its lines only rise.
func writeOutputs(cmd *cobra.Command, sinks []sink.Sink, img sink.Image, pr *progress.Reporter) (err error) {
	if pr != nil {
		for _, sk := range sinks {
			var ch chan<- v1.Update
			var finish func(error)
			switch v := sk.(type) {
			case *sink.Registry:
				total, err := sink.PushSize(img.Index)
				if err != nil {
					return err
				}
				ch, finish = pr.Updates("push "+v.Ref.String(), total)
				v.Progress = ch
			case *sink.DockerArchive:
				ch, finish = pr.Updates("write "+v.Path, 0)
				v.Progress = ch
			default:
				continue
			}
			defer func() { finish(err) }()
		}
	}
	return sink.WriteAll(cmd.Context(), img, sinks...)
}

func platformOf(arch string) string {
	o, a, v, _ := spec.Platform(arch)
	if v != "" {
		return o + "/" + a + "/" + v
	}
	return o + "/" + a
}

# Common flows. `make demo` and `make test` install what they need on Debian 12.
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X github.com/randomizedcoder/go-ffmpeg-hls-swarm/internal/version.Version=$(VERSION)
BIN      := bin

.PHONY: test-origin microvm-origin images
.PHONY: all build deps test test-short bench bench-imagegen imagegen-digest bench-swarm bench-capacity demo clean completion ko screenshot-dashboard

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/...

deps:
	./scripts/install-deps.sh

test: deps
	./scripts/test.sh

test-short:
	$(GO) test -short ./...

bench: deps
	$(GO) test -run '^$$' -bench . -benchtime 1x ./...

# imagegen on the FFmpeg closure fixture: cold build vs the Go floor, rebuild, crane append, tar+sha256+gzip
# bound; warm vs cold push with the default cache; CPU of two arches sharing every path vs one.
bench-imagegen:
	$(GO) test -run '^$$' -bench 'BenchmarkImagegen(FFmpeg|Cache)$$' -benchtime 1x -v ./internal/imagegen/layer/ ./internal/imagegen/build/

# The digest of a fixed test image (inputs: testdata + Nix only), to compare two machines. Fails
# when it differs from internal/imagegen/build/testdata/fixed-image.golden.json (update: add -update).
imagegen-digest:
	@out=$$($(GO) test -count=1 -run '^TestFixedImageDigest$$' -v ./internal/imagegen/build/ 2>&1); rc=$$?; \
	  echo "$$out" | grep 'imagegen fixed test image'; \
	  if [ $$rc -ne 0 ]; then echo "$$out" | tail -n 20; exit $$rc; fi

# swarm overhead: 50 FFmpeg clients, the swarm's own CPU/PSS per client vs its children's (goal <= 5 %).
bench-swarm:
	$(GO) test -run '^$$' -bench 'BenchmarkSwarm$$' -benchtime 1x ./cmd/go-ffmpeg-hls-swarm/
	$(GO) test -run '^$$' -bench 'BenchmarkSwarmLiveView$$' -benchtime 1x ./cmd/go-ffmpeg-hls-swarm/
	$(GO) test -run '^$$' -bench 'BenchmarkProxyThroughput|BenchmarkReadHeads' ./internal/swarm/meter/

# The largest client count this machine holds for 5 minutes, every client keeping up (one line
# per size tried; CAPACITY_START, CAPACITY_MAX, CAPACITY_HOLD, CAPACITY_STEPS; up to ~1 h).
bench-capacity:
	$(GO) test -run '^$$' -bench 'BenchmarkCapacity$$' -benchtime 1x -timeout 3h -v ./cmd/go-ffmpeg-hls-swarm/

demo:
	./scripts/demo.sh

# docs/images/dashboard.png from a real run (needs aha and chromium besides ffmpeg, nginx and tmux).
screenshot-dashboard:
	./scripts/screenshot-dashboard.sh

# The test origin on this machine (PROFILE=low-latency make test-origin; needs ffmpeg and nginx).
PROFILE ?= default
test-origin: build
	$(BIN)/go-ffmpeg-hls-swarm origin --profile $(PROFILE)

# The test origin in a MicroVM (Linux + KVM + Nix).
microvm-origin:
	nix run .#test-origin-vm-$(PROFILE)

# The images, through imagegen inside Nix (needs Nix with flakes and nixpkgs): docker load < result*
images:
	nix build .#go-ffmpeg-hls-swarm-container .#swarm-client-container .#test-origin-container

# Shell completion for bash, zsh and fish in dist/completions/ (profiles/ is their source; docs/how-to/up.md).
# File names as `nix run .#generate-completion` writes them (zsh wants _NAME on its fpath).
completion: build
	mkdir -p dist/completions
	for f in bash:go-ffmpeg-hls-swarm.bash zsh:_go-ffmpeg-hls-swarm fish:go-ffmpeg-hls-swarm.fish; do \
	  $(BIN)/go-ffmpeg-hls-swarm completion $${f%%:*} >dist/completions/.$${f#*:}.tmp && \
	  mv dist/completions/.$${f#*:}.tmp dist/completions/$${f#*:} || exit 1; \
	done

# ko: the Go binary for linux/amd64 + linux/arm64 on the imagegen-built FFmpeg base (.ko.yaml,
# docs/how-to/ko.md). Set KO_DOCKER_REPO; KO_DEFAULTBASEIMAGE overrides .ko.yaml's base.
ko:
	@test -n "$$KO_DOCKER_REPO" || { echo "make ko: set KO_DOCKER_REPO, e.g. KO_DOCKER_REPO=127.0.0.1:5000/go-ffmpeg-hls-swarm (docs/how-to/ko.md)" >&2; exit 1; }
	PATH="$$PATH:$$($(GO) env GOPATH)/bin" ko build --bare --platform=linux/amd64,linux/arm64 ./cmd/go-ffmpeg-hls-swarm

clean:
	rm -rf $(BIN)

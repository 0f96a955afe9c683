# Vigil's build entry points. The binary is built first (static, no cgo);
# the image only copies it, as GoReleaser-style release pipelines do.
#
#   make build        bin/vigil (static linux binary for this machine's arch)
#   make sbom         bin/vigil.cdx.json (CycloneDX 1.5, from the binary's build info)
#   make image        localhost/vigil:$(VERSION) and :latest, with podman or docker
#   make test         scripts/test (every Go test and the SDK compatibility suite)
#   make test-deploy  scripts/test-deploy (the image and the Helm chart, end to end)
#
# Variables: VERSION (default: git describe), CONTAINER_ENGINE (podman or
# docker; default: podman if installed, else docker), IMAGE (localhost/vigil),
# GOARCH, CA_BUNDLE (the build machine's CA certificates, copied into the image),
# IMAGE_BUILD_FLAGS (extra flags for the engine's build, e.g. --layers=false).

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null | tr -c 'A-Za-z0-9_.\n-' '-' || true)
ifeq ($(strip $(VERSION)),)
VERSION := dev
endif
IMAGE ?= localhost/vigil
GOARCH ?= $(shell go env GOARCH)
CA_BUNDLE ?= $(firstword $(wildcard /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt /etc/ssl/cert.pem))
CONTAINER_ENGINE ?= $(shell command -v podman >/dev/null 2>&1 && echo podman || { command -v docker >/dev/null 2>&1 && echo docker; } || true)

BIN := bin
GO_LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: all build sbom image test test-deploy clean help
all: build

help:
	@sed -n '3,13p' Makefile | sed 's/^# \{0,1\}//'

# Always rebuilt: go build is incremental and knows what changed.
build:
	@mkdir -p $(BIN)
	CGO_ENABLED=0 GOOS=linux GOARCH=$(GOARCH) go build -trimpath -ldflags '$(GO_LDFLAGS)' -o $(BIN)/vigil ./cmd/vigil
	@echo "built $(BIN)/vigil $(VERSION) ($$(du -h $(BIN)/vigil | cut -f1))"

sbom: build
	go run ./tools/sbom -version $(VERSION) -o $(BIN)/vigil.cdx.json $(BIN)/vigil
	@echo "wrote $(BIN)/vigil.cdx.json ($$(grep -c '"purl"' $(BIN)/vigil.cdx.json) purls)"

# The build context is the repository, but .dockerignore lets in only
# bin/vigil, bin/vigil.cdx.json and bin/image/ (the CA bundle and the empty
# /data directory).
image: sbom
	@test -n "$(CONTAINER_ENGINE)" || { echo "make image: neither podman nor docker is installed (apt-get install podman)"; exit 1; }
	@test -n "$(CA_BUNDLE)" || { echo "make image: no CA bundle found; install ca-certificates or set CA_BUNDLE"; exit 1; }
	rm -rf $(BIN)/image && mkdir -p $(BIN)/image/data
	cp $(CA_BUNDLE) $(BIN)/image/ca-certificates.crt
	$(CONTAINER_ENGINE) build $(IMAGE_BUILD_FLAGS) --platform linux/$(GOARCH) --build-arg VERSION=$(VERSION) \
		-t $(IMAGE):$(VERSION) -t $(IMAGE):latest -f Dockerfile .
	@echo "image $(IMAGE):$(VERSION) ($(CONTAINER_ENGINE)): $$($(CONTAINER_ENGINE) image inspect $(IMAGE):$(VERSION) --format '{{.Size}}') bytes"

test:
	scripts/test

test-deploy:
	scripts/test-deploy

clean:
	rm -rf $(BIN)

#!/usr/bin/env bash
# Tests the Go binding against a CMake build of libclip.
#
#   bindings/go/run_tests.sh BUILD_DIR
#
# Installs BUILD_DIR into a temporary prefix, points pkg-config and the
# dynamic loader at it, then runs gofmt, go vet and go test (offline: the
# package uses the standard library only). Needs the Debian packages
# golang-go and pkgconf besides the C library's build dependencies.
#
# Environment:
#   LIBCLIP_FIXTURES_DIR  shared fixtures (default: ../../../shared/fixtures
#                         from this directory); tests skip without them
#   LIBCLIP_TOOLS_DIR     directory of clip-embed (default: BUILD_DIR/examples)
#   LIBCLIP_GO_RACE=1     also run the tests under the race detector
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
build_dir=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)

if ! command -v go > /dev/null; then
    echo "run_tests.sh: go not found (apt-get install golang-go)" >&2
    exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== installing $build_dir into a temporary prefix"
cmake --install "$build_dir" --prefix "$tmp/prefix" > /dev/null
pc=$(find "$tmp/prefix" -name libclip.pc | head -n 1)
so=$(find "$tmp/prefix" -name 'libclip.so*' | head -n 1)
if [ -z "$pc" ] || [ -z "$so" ]; then
    echo "run_tests.sh: the install has no libclip.pc or libclip.so (a shared build is needed)" >&2
    exit 1
fi
export PKG_CONFIG_PATH="$(dirname "$pc")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export LD_LIBRARY_PATH="$(dirname "$so")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export LIBCLIP_TOOLS_DIR="${LIBCLIP_TOOLS_DIR:-$build_dir/examples}"

# Offline and self-contained: no module downloads, no toolchain switching.
export CGO_ENABLED=1 GOFLAGS=-mod=readonly GOWORK=off GOPROXY=off GOSUMDB=off GOTOOLCHAIN=local
export GOPATH="$tmp/gopath"
# A fresh build cache every run: the cache keeps cgo's linker flags, which
# name this run's temporary prefix, and a shared one would link against an
# earlier run's prefix that no longer exists.
export GOCACHE="$tmp/gocache"

cd "$here"
echo "== $(go version), libclip $(pkg-config --modversion libclip)"

echo "== gofmt"
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
    echo "run_tests.sh: not gofmt'ed: $unformatted" >&2
    exit 1
fi

echo "== go vet"
go vet ./...

echo "== go test"
go test -count=1 ./...

if [ "${LIBCLIP_GO_RACE:-0}" = 1 ]; then
    echo "== go test -race"
    go test -count=1 -race ./...
fi

# The module as a consumer uses it (docs/go.md): required through a replace
# directive, built outside this directory.
echo "== building a consumer module"
mkdir -p "$tmp/consumer"
cat > "$tmp/consumer/main.go" << 'GO'
package main

import (
	"fmt"

	"libclip.dev/go/libclip"
)

func main() { fmt.Println("libclip", libclip.Version()) }
GO
(
    cd "$tmp/consumer"
    go mod init example.test/consumer > /dev/null 2>&1
    go mod edit -require=libclip.dev/go/libclip@v0.0.0 -replace=libclip.dev/go/libclip="$here"
    go build -o consumer .
    ./consumer
)
echo "== Go binding: all checks passed"

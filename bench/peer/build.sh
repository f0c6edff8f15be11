#!/usr/bin/env bash
# Builds the benchmark's peer (this folder's Go module, pinned by go.mod/go.sum) for Lambda's
# provided.al2023 runtime into CACHE_DIR/tw-peer-<key>/bootstrap, as a Go function is built for
# deployment (static, stripped, without aws-lambda-go's RPC mode). The key covers the Go version,
# go.mod, go.sum, the Go sources and this script; a key already built is reused. With OUT_DIR,
# also links OUT_DIR/bench-peer to it. Prints the binary's path; progress goes to stderr.
#
# Usage: bench/peer/build.sh CACHE_DIR [OUT_DIR]
# A first build downloads the modules through the Go module proxy (GOPROXY): about a minute.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${1:?usage: build.sh CACHE_DIR [OUT_DIR]}
out=${2:-}
command -v go >/dev/null || { echo "build.sh: go is not installed" >&2; exit 1; }
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

key=$(cd "$here" && { go version; go env GOOS GOARCH; cat go.mod go.sum build.sh; \
      find . -name '*.go' | LC_ALL=C sort | xargs cat; } | sha256sum | cut -c1-16)
dest="$cache/tw-peer-$key"

if [ ! -x "$dest/bootstrap" ]; then
    exec 9>"$cache/.tw-peer.lock"
    flock 9
    if [ ! -x "$dest/bootstrap" ]; then
        echo "peer: building the Go SDK peer into $dest" >&2
        tmp=$(mktemp -d "$cache/.tw-peer-build.XXXXXX")
        trap 'rm -rf "$tmp"' EXIT
        (cd "$here" && CGO_ENABLED=0 go build -mod=readonly -trimpath -tags lambda.norpc \
            -ldflags='-s -w' -o "$tmp/bootstrap" .)
        rm -rf "$dest"
        mv "$tmp" "$dest"
        trap - EXIT
    fi
    exec 9>&-
fi

if [ -n "$out" ]; then
    mkdir -p "$out"
    ln -sfn "$dest/bootstrap" "$out/bench-peer"
fi
echo "$dest/bootstrap"

#!/usr/bin/env bash
# Builds the local Temporal server (server/) and the Go SDK driver (driver/) of this folder's
# Go module, pinned by go.mod/go.sum, into CACHE_DIR/temporal-local-<key>/ as temporal-server
# and tw-driver. The key covers the Go version, go.mod, go.sum, the Go sources and this script;
# a key already built is reused. With OUT_DIR, also links OUT_DIR/temporal-server and
# OUT_DIR/tw-driver to them. Prints the two binary paths, one a line; progress goes to stderr.
#
# Usage: local/temporal/build.sh CACHE_DIR [OUT_DIR]
# A first build downloads the modules through the Go module proxy (GOPROXY) and compiles for
# a few minutes; later builds with the same key take no time.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${1:?usage: build.sh CACHE_DIR [OUT_DIR]}
out=${2:-}
command -v go >/dev/null || { echo "build.sh: go is not installed" >&2; exit 1; }
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

key=$(cd "$here" && { go version; go env GOOS GOARCH; cat go.mod go.sum build.sh; \
      find server driver -name '*.go' | LC_ALL=C sort | xargs cat; } | sha256sum | cut -c1-16)
dest="$cache/temporal-local-$key"

if [ ! -x "$dest/temporal-server" ] || [ ! -x "$dest/tw-driver" ]; then
    exec 9>"$cache/.temporal-local.lock"
    flock 9 # one build at a time; a second caller waits and then finds it built
    if [ ! -x "$dest/temporal-server" ] || [ ! -x "$dest/tw-driver" ]; then
        echo "temporal: building the server and the driver into $dest (first time: minutes)" >&2
        start=$(date +%s)
        tmp=$(mktemp -d "$cache/.temporal-local-build.XXXXXX")
        trap 'rm -rf "$tmp"' EXIT
        (cd "$here" && go build -mod=readonly -trimpath -ldflags='-s -w' -o "$tmp/" ./server ./driver)
        mv "$tmp/server" "$tmp/temporal-server"
        mv "$tmp/driver" "$tmp/tw-driver"
        rm -rf "$dest"
        mv "$tmp" "$dest"
        trap - EXIT
        echo "temporal: built in $(($(date +%s) - start)) s" >&2
    fi
    exec 9>&-
fi

if [ -n "$out" ]; then
    mkdir -p "$out"
    ln -sfn "$dest/temporal-server" "$out/temporal-server"
    ln -sfn "$dest/tw-driver" "$out/tw-driver"
fi
echo "$dest/temporal-server"
echo "$dest/tw-driver"

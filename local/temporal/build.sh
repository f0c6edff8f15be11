#!/usr/bin/env bash
# Builds the local Temporal server and the Go SDK driver (this folder's Go module, pinned by
# go.mod/go.sum) into CACHE/<key>/, the key covering go.sum, the sources and the Go version,
# and reuses them. Links them as OUT/temporal-server and OUT/tw-driver.
# Usage: local/temporal/build.sh CACHE_DIR OUT_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${1:?usage: build.sh CACHE_DIR OUT_DIR}
out=${2:?usage: build.sh CACHE_DIR OUT_DIR}
key=$( (go version; cat "$here/go.mod" "$here/go.sum" "$here"/server/*.go "$here"/driver/*.go) | sha256sum | cut -c1-16)
dest="$cache/temporal-local-$key"
if [ ! -x "$dest/temporal-server" ] || [ ! -x "$dest/tw-driver" ]; then
    echo "temporal: building the server and the driver (first time: a few minutes)"
    mkdir -p "$dest.tmp"
    ( cd "$here" && go build -trimpath -o "$dest.tmp/temporal-server" ./server \
                 && go build -trimpath -o "$dest.tmp/tw-driver" ./driver )
    rm -rf "$dest"
    mv "$dest.tmp" "$dest"
fi
mkdir -p "$out"
ln -sf "$dest/temporal-server" "$out/temporal-server"
ln -sf "$dest/tw-driver" "$out/tw-driver"

#!/usr/bin/env bash
# Fetches Temporal's official API .proto files, pinned: they ship in the npm package
# @temporalio/core-bridge. Unpacks only the protos into CACHE/temporal-protos-<version>/ and
# reuses them. Prints the folder holding temporal/api/... and google/...
# Usage: deps/protos.sh CACHE_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${1:?usage: deps/protos.sh CACHE_DIR}
version=$(awk '$1=="core-bridge"{print $2}' "$here/protos.version")
dest="$cache/temporal-protos-$version"
inner=package/sdk-core/crates/protos/protos/api_upstream
if [ ! -f "$dest/.done" ]; then
    mkdir -p "$cache"
    work=$(mktemp -d "$cache/.protos.XXXXXX")
    ( cd "$work" && npm pack --silent "@temporalio/core-bridge@$version" >/dev/null 2>npm.err ) \
        || { cat "$work/npm.err" >&2; echo "protos: npm pack @temporalio/core-bridge@$version failed" >&2; exit 1; }
    tar -xzf "$work"/temporalio-core-bridge-*.tgz -C "$work" "$inner"
    rm -rf "$dest"
    mv "$work/$inner" "$dest"
    rm -rf "$work"
    touch "$dest/.done"
fi
echo "$dest"

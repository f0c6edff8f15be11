#!/usr/bin/env bash
# Packages what a user deploys: the runtime layer (bootstrap at the zip's root, so Lambda finds
# it as /opt/bootstrap), the hello example as a function zip (its .so and a temporal.toml), and
# an SDK archive (the header, the examples, how to build a library against it).
# Usage: layer/build.sh BUILD_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:?usage: layer/build.sh BUILD_DIR}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

mkdir -p "$stage/layer"
strip -o "$stage/layer/bootstrap" "$B/bootstrap"
chmod 755 "$stage/layer/bootstrap"
rm -f "$B/layer.zip"
(cd "$stage/layer" && zip -q -X "$OLDPWD/$B/layer.zip" bootstrap)

mkdir -p "$stage/function"
cp "$B/examples/libhello.so" "$stage/function/"
cat >"$stage/function/temporal.toml" <<'TOML'
# Connection settings for the worker (Temporal's envconfig format). Environment variables
# (TEMPORAL_ADDRESS, TEMPORAL_API_KEY, ...) override these.
[profile.default]
address = "your-namespace.tmprl.cloud:7233"
namespace = "your-namespace"
TOML
rm -f "$B/function.zip"
(cd "$stage/function" && zip -q -X "$OLDPWD/$B/function.zip" libhello.so temporal.toml)

sdk="$stage/temporal-lambda-c-sdk"
mkdir -p "$sdk/include" "$sdk/examples"
cp include/tw.h "$sdk/include/"
cp -r examples/* "$sdk/examples/"
cat >"$sdk/README.md" <<'MD'
# Temporal workflows in C for AWS Lambda: SDK

`include/tw.h` is the whole API. Build a library for the function:

    cc -std=c11 -O2 -fPIC -shared -fvisibility=hidden -fstack-clash-protection -Iinclude \
       -o libworkflows.so worker.c

The comment at the top of `tw.h` says which memory results may point to, and how much stack
workflow code has (the last flag keeps a large stack frame from stepping over its guard).

Build on (or for) the function's architecture (x86_64 or arm64). Zip the `.so` (and
optionally a `temporal.toml`), set the function's handler to the `.so`'s file name, the
runtime to `provided.al2023`, add the layer with `bootstrap`, and set TEMPORAL_TASK_QUEUE,
TEMPORAL_DEPLOYMENT_NAME and TEMPORAL_WORKER_BUILD_ID. See `examples/`.
MD
rm -f "$B/temporal-lambda-c-sdk.tar.gz"
tar -C "$stage" -czf "$B/temporal-lambda-c-sdk.tar.gz" temporal-lambda-c-sdk
ls -l "$B/layer.zip" "$B/function.zip" "$B/temporal-lambda-c-sdk.tar.gz"

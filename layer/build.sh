#!/usr/bin/env bash
# Packages what a user deploys, for each architecture given: the runtime layer
# layer-ARCH.zip (bootstrap at the zip's root, so Lambda finds it as /opt/bootstrap) and the
# hello example as a function zip function-ARCH.zip (its .so and a temporal.toml); then one SDK
# archive (the header, the examples, how to build a library for each architecture).
# Usage: layer/build.sh OUT_DIR ARCH=BUILD_DIR...   (ARCH: x86_64 or arm64; BUILD_DIR holds
#        that architecture's bootstrap and examples/libhello.so)
set -euo pipefail
cd "$(dirname "$0")/.."
usage="usage: layer/build.sh OUT_DIR ARCH=BUILD_DIR... (ARCH: x86_64 or arm64)"
out=${1:?$usage}
shift
[ $# -gt 0 ] || { echo "$usage" >&2; exit 2; }
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
made=()

# package ARCH BUILD_DIR: layer-ARCH.zip and function-ARCH.zip in $out.
package() {
    local arch=$1 B=$2 triple machine strip
    case "$arch" in
        x86_64) triple=x86_64-linux-gnu; machine='X86-64' ;;
        arm64) triple=aarch64-linux-gnu; machine='AArch64' ;;
        *) echo "$usage" >&2; exit 2 ;;
    esac
    # A bootstrap of the other architecture in the wrong zip would only fail on Lambda.
    for f in "$B/bootstrap" "$B/examples/libhello.so"; do
        readelf -h "$f" | grep -q "Machine:.*$machine" \
            || { echo "layer: $f is not an $arch program" >&2; exit 1; }
    done
    strip=$triple-strip
    command -v "$strip" >/dev/null || strip=strip
    mkdir -p "$stage/$arch/layer" "$stage/$arch/function"
    "$strip" -o "$stage/$arch/layer/bootstrap" "$B/bootstrap"
    chmod 755 "$stage/$arch/layer/bootstrap"
    rm -f "$out/layer-$arch.zip"
    (cd "$stage/$arch/layer" && zip -q -X "$OLDPWD/$out/layer-$arch.zip" bootstrap)

    cp "$B/examples/libhello.so" "$stage/$arch/function/"
    cat >"$stage/$arch/function/temporal.toml" <<'TOML'
# Connection settings for the worker (Temporal's envconfig format). Environment variables
# (TEMPORAL_ADDRESS, TEMPORAL_API_KEY, ...) override these.
[profile.default]
address = "your-namespace.tmprl.cloud:7233"
namespace = "your-namespace"
TOML
    rm -f "$out/function-$arch.zip"
    (cd "$stage/$arch/function" && zip -q -X "$OLDPWD/$out/function-$arch.zip" libhello.so temporal.toml)
    made+=("$out/layer-$arch.zip" "$out/function-$arch.zip")
}

mkdir -p "$out"
for pair in "$@"; do
    case "$pair" in
        *=?*) package "${pair%%=*}" "${pair#*=}" ;;
        *) echo "$usage" >&2; exit 2 ;;
    esac
done

sdk="$stage/temporal-lambda-c-sdk"
mkdir -p "$sdk/include" "$sdk/examples"
cp include/tw.h "$sdk/include/"
cp -r examples/* "$sdk/examples/"
# The Makefile template and what it links into C++ libraries (layer/sdk/).
cp layer/sdk/Makefile layer/sdk/cxx_compat.c "$sdk/"
cat >"$sdk/README.md" <<'MD'
# Temporal workflows in C for AWS Lambda: SDK

`include/tw.h` is the whole API (C, or C++ through the same header). The `Makefile` here
builds a library from a project's `.c` and `.cpp` files for x86_64 and, when the cross
compiler is installed, arm64, with the flags below, and refuses a library that needs a glibc
symbol newer than provided.al2's 2.26 (naming it):

    make -f path/to/this/folder/Makefile NAME=orders      # build/x86_64/liborders.so,
                                                          # build/arm64/liborders.so
    make SRC=examples/hello/worker.c NAME=hello           # from this folder

Its comment says the rest (choosing sources and compilers, C++ libraries: the C++ runtime
linked in statically, with `cxx_compat.c`; `examples/cxx` is a workflow in C++). By hand,
for C, with the same flags for both architectures:

    # x86_64
    cc -std=c11 -O2 -fPIC -shared -fvisibility=hidden -fstack-clash-protection -Iinclude \
       -o libworkflows.so worker.c

    # arm64 (Graviton), from an x86_64 Debian or Ubuntu machine with the cross compiler
    # (apt-get install gcc-aarch64-linux-gnu); on an arm64 machine, plain `cc`
    aarch64-linux-gnu-gcc -std=c11 -O2 -fPIC -shared -fvisibility=hidden \
       -fstack-clash-protection -Iinclude -o libworkflows.so worker.c

The comment at the top of `tw.h` says which memory results may point to, and how much stack
workflow code has (the last flag keeps a large stack frame from stepping over its guard).
A library built on a machine with glibc 2.33 or newer must not call `stat` or `fstat`
directly (they bind to GLIBC_2.33, newer than provided.al2's 2.26).

Zip the `.so` (and optionally a `temporal.toml`), set the function's handler to the `.so`'s
file name, the runtime to `provided.al2023`, and its architecture (`x86_64` or `arm64`) to the
one the library was built for; add the runtime layer of that architecture (`layer-x86_64.zip`
or `layer-arm64.zip`), and set TEMPORAL_TASK_QUEUE, TEMPORAL_DEPLOYMENT_NAME and
TEMPORAL_WORKER_BUILD_ID. A library of the other architecture is refused at start with a
message saying so. See `examples/`.
MD
rm -f "$out/temporal-lambda-c-sdk.tar.gz"
tar -C "$stage" -czf "$out/temporal-lambda-c-sdk.tar.gz" temporal-lambda-c-sdk
ls -l "${made[@]}" "$out/temporal-lambda-c-sdk.tar.gz"

#!/usr/bin/env bash
# The system packages the build (`build`) or the build and the tests (`test`) need, installed
# when missing, so `make demo` and `make test` work on a fresh Debian machine. Debian's apt
# only: on a machine without it, prints what to install and stops. Nothing is installed when
# everything is there (a second run only reads dpkg's database). Root or sudo for installing.
#
# Also sets up the deb-src entries `apt-get source` needs for the pinned third-party packages
# (deps/apt-sources.sh), and checks Go and npm: the local Temporal server needs Go >= 1.21
# (older than go.mod's version, it fetches the pinned toolchain through the Go module proxy
# itself), the pinned Temporal protos come through npm.
#
# Usage: deps/system.sh build|test
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:?usage: deps/system.sh build|test}

# The cross compiler and arm64 libc headers are build packages: `make layer` builds both
# architectures (`make ARCH=arm64`). qemu-user-static runs the arm64 bootstrap in the tests
# (invoked explicitly: a container rarely has binfmt_misc). python3-venv: the virtualenv the
# tests' cfn-lint is installed into (deps/cfn-lint.sh). g++-aarch64-linux-gnu: the SDK test
# builds the C++ example for arm64 too (tests/integration/test_sdk.c).
build_pkgs=(build-essential make cmake python3 dpkg-dev ca-certificates curl openssl zip
            protobuf-c-compiler libprotobuf-dev gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
test_pkgs=(libcmocka-dev nghttp2-server debootstrap clang qemu-user-static unzip python3-venv
           g++-aarch64-linux-gnu)
case "$mode" in
    build) want=("${build_pkgs[@]}") ;;
    test) want=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
    *) echo "usage: deps/system.sh build|test" >&2; exit 2 ;;
esac

say() { echo "system: $*" >&2; }

if ! command -v apt-get >/dev/null || ! command -v dpkg-query >/dev/null; then
    say "this machine has no apt; install these (Debian names) and run make again:"
    say "  ${want[*]} libclang-rt-<clang's major version>-dev golang (>= 1.21) npm"
    exit 1
fi

installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; }
missing() { local p; for p in "$@"; do installed "$p" || echo "$p"; done; }

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then
        SUDO=(sudo)
    else
        need=$(missing "${want[@]}" | tr '\n' ' ')
        if [ -n "$need" ] || [ ! -f /etc/apt/sources.list.d/tw-deps-src.sources ]; then
            say "not root and no sudo: as root, run"
            [ -z "$need" ] || say "  apt-get update && apt-get install -y $need"
            say "  bash deps/apt-sources.sh && apt-get update"
            exit 1
        fi
    fi
fi
export DEBIAN_FRONTEND=noninteractive
updated=0
apt_update() { [ $updated -eq 1 ] || { "${SUDO[@]}" apt-get update -qq; updated=1; }; }
install() {
    [ $# -gt 0 ] || return 0
    say "installing $*"
    apt_update
    local log; log=$(mktemp)
    "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "$@" >"$log" 2>&1 \
        || { tail -n 20 "$log" >&2; rm -f "$log"; say "apt-get install $* failed"; exit 1; }
    rm -f "$log"
}

install $(missing "${want[@]}")

# libFuzzer (`make fuzz`) is in the compiler-rt package of the clang just installed.
if [ "$mode" = test ]; then
    install $(missing "libclang-rt-$(clang -dumpversion | cut -d. -f1)-dev")
fi

# deb-src entries for `apt-get source` of the pinned packages (deps/versions).
if [ ! -f /etc/apt/sources.list.d/tw-deps-src.sources ]; then
    say "adding deb-src entries for the pinned third-party sources"
    "${SUDO[@]}" bash deps/apt-sources.sh
    "${SUDO[@]}" apt-get update -qq
    updated=1
fi

# Go and npm. Debian's golang-go only when it is new enough (Go >= 1.21 then fetches go.mod's
# toolchain itself); bookworm's is 1.19, so there Go comes from its own installer.
at_least_121() { [ "$(printf '%s\n1.21\n' "$1" | sort -V | head -n 1)" = 1.21 ]; }
go_ok() { command -v go >/dev/null && at_least_121 "$(go env GOVERSION 2>/dev/null | sed 's/^go//')"; }
if ! go_ok; then
    cand=$(apt-cache policy golang-go 2>/dev/null | awk '/Candidate:/{print $2}' | sed 's/^[0-9]*://; s/[~+-].*//')
    if [ -n "$cand" ] && [ "$cand" != "(none)" ] && at_least_121 "$cand"; then install golang-go; fi
fi
go_ok || { say "Go 1.21 or newer is needed (local/temporal/go.mod), and apt has none here: install Go from its own distribution and put it on PATH"; exit 1; }
command -v npm >/dev/null || install npm
exit 0

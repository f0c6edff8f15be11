#!/usr/bin/env bash
# A Debian bullseye root (glibc 2.31, the oldest release the package registry still serves)
# for running bootstrap on an older glibc than the build machine's, made once with debootstrap
# from the machine's own apt sources and cached. Needs root (debootstrap, and chroot in tests).
# Usage: deps/oldroot.sh CACHE_DIR   (prints the root's path)
set -euo pipefail
cache=${1:?usage: deps/oldroot.sh CACHE_DIR}
root="$cache/bullseye-root"
if [ ! -f "$root/.done" ]; then
    command -v debootstrap >/dev/null || { echo "oldroot: debootstrap is not installed" >&2; exit 1; }
    mirror=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' \
             | grep -v security | head -n 1)
    [ -n "$mirror" ] || mirror=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list)
    rm -rf "$root"
    debootstrap --variant=minbase bullseye "$root" "$mirror" >"$cache/bullseye-root.log" 2>&1 \
        || { tail -20 "$cache/bullseye-root.log" >&2; exit 1; }
    touch "$root/.done"
fi
echo "$root"

#!/usr/bin/env bash
# A Debian bullseye root (glibc 2.31, the oldest release the package registry still serves)
# for running bootstrap on an older glibc than the build machine's, made once with debootstrap
# from the machine's own apt sources and cached. Needs root (debootstrap, and chroot in tests).
#
# With `arm64`, an arm64 root for the cross-built bootstrap, run under qemu user-mode
# emulation: debootstrap's first stage (--foreign) unpacks the required packages, glibc among
# them; the second stage, which runs the root's own programs, runs only where the kernel runs
# arm64 programs through qemu (binfmt_misc: rarely in a container), and the tests need only the
# unpacked files. qemu-aarch64-static goes into the root's /usr/bin, so `chroot ROOT
# /usr/bin/qemu-aarch64-static PROGRAM` runs an arm64 program in there.
# Usage: deps/oldroot.sh CACHE_DIR [arm64]   (prints the root's path)
set -euo pipefail
cache=${1:?usage: deps/oldroot.sh CACHE_DIR [arm64]}
arch=${2:-}
case "$arch" in
    '') name=bullseye-root; opts=() ;;
    arm64) name=bullseye-arm64-root; opts=(--arch=arm64 --foreign) ;;
    *) echo "usage: deps/oldroot.sh CACHE_DIR [arm64]" >&2; exit 2 ;;
esac
root="$cache/$name"
if [ ! -f "$root/.done" ]; then
    command -v debootstrap >/dev/null || { echo "oldroot: debootstrap is not installed" >&2; exit 1; }
    mirror=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' \
             | grep -v security | head -n 1)
    [ -n "$mirror" ] || mirror=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list)
    rm -rf "$root"
    debootstrap "${opts[@]}" --variant=minbase bullseye "$root" "$mirror" >"$cache/$name.log" 2>&1 \
        || { tail -20 "$cache/$name.log" >&2; exit 1; }
    if [ "$arch" = arm64 ]; then
        qemu=$(command -v qemu-aarch64-static) \
            || { echo "oldroot: qemu-aarch64-static is not installed (qemu-user-static)" >&2; exit 1; }
        cp "$qemu" "$root/usr/bin/"
        if [ -f /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
            chroot "$root" /debootstrap/debootstrap --second-stage >>"$cache/$name.log" 2>&1 \
                || { tail -20 "$cache/$name.log" >&2; exit 1; }
        fi
    fi
fi
touch "$root/.done" # make's stamp: newer than this script once it has run
echo "$root"

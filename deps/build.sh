#!/usr/bin/env bash
# Builds the pinned third-party libraries (deps/versions) from Debian source packages into a
# cache outside the work tree, one prefix per library and version, and reuses what is there.
# With a target triple (aarch64-linux-gnu), cross-builds them with Debian's cross toolchain
# (TRIPLE-gcc) into CACHE_DIR/TRIPLE/ instead, apart from the native ones.
# Usage: deps/build.sh CACHE_DIR [TRIPLE]  (prints nothing when everything is already built)
#
# One build at a time per cache (a lock), and a library is built and installed aside, then put
# in place with a rename: a build running elsewhere never sees a half-installed prefix.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${1:?usage: deps/build.sh CACHE_DIR [TRIPLE]}
triple=${2:-}
mkdir -p "$cache"
exec 9>"$cache/.deps-build.lock"
flock 9
[ -z "$triple" ] || cache="$cache/$triple"
mkdir -p "$cache"
jobs=$(nproc 2>/dev/null || echo 2)
# Position-independent, dead code removable: the libraries end up in a PIE with --gc-sections.
export CFLAGS="-O2 -g -fPIC -ffunction-sections -fdata-sections"

# The cross settings each build system takes (all empty for a native build).
host_args=()
cmake_args=()
if [ -n "$triple" ]; then
    command -v "$triple-gcc" >/dev/null \
        || { echo "deps: $triple-gcc is missing (deps/system.sh build installs it)" >&2; exit 1; }
    export CC=$triple-gcc AR=$triple-ar
    host_args=(--host="$triple")
    cmake_args=(-DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR="${triple%%-*}"
                -DCMAKE_C_COMPILER="$triple-gcc")
fi

build_curl() {
    ./configure --prefix="$1" "${host_args[@]}" --disable-shared --enable-static --with-pic \
        --without-ssl --without-zlib --without-brotli --without-zstd --without-libidn2 \
        --without-libpsl --without-nghttp2 --without-ngtcp2 --without-nghttp3 --without-librtmp \
        --without-libssh2 --without-libssh --without-gssapi --without-hyper --without-ca-bundle \
        --without-ca-path --disable-ldap --disable-ldaps --disable-rtsp --disable-dict \
        --disable-telnet --disable-tftp --disable-pop3 --disable-imap --disable-smb --disable-smtp \
        --disable-gopher --disable-mqtt --disable-ftp --disable-file --disable-manual \
        --disable-alt-svc --disable-cookies --disable-ntlm --disable-hsts --disable-doh \
        --disable-netrc --disable-progress-meter --disable-dateparse --disable-mime \
        --disable-aws --disable-kerberos-auth --disable-negotiate-auth --disable-digest-auth \
        --disable-socketpair --disable-websockets --disable-libcurl-option --disable-headers-api \
        --enable-symbol-hiding --disable-docs >config.out 2>&1 \
        || { tail -30 config.out; return 1; }
    make -C lib -j"$jobs" >build.out 2>&1 || { tail -30 build.out; return 1; }
    { make -C lib install DESTDIR="$2" && make -C include install DESTDIR="$2"; } >install.out 2>&1 \
        || { tail -30 install.out; return 1; }
}

build_nghttp2() {
    cmake -S . -B build-tw -DCMAKE_INSTALL_PREFIX="$1" -DCMAKE_BUILD_TYPE=Release \
        "${cmake_args[@]}" -DCMAKE_C_FLAGS="$CFLAGS" -DENABLE_LIB_ONLY=ON -DENABLE_STATIC_LIB=ON \
        -DENABLE_SHARED_LIB=OFF -DENABLE_DOC=OFF -DENABLE_FAILMALLOC=OFF -DENABLE_THREADS=OFF \
        -DCMAKE_INSTALL_LIBDIR=lib >config.out 2>&1 || { tail -30 config.out; return 1; }
    cmake --build build-tw -j"$jobs" >build.out 2>&1 || { tail -30 build.out; return 1; }
    DESTDIR="$2" cmake --install build-tw >/dev/null
}

build_protobuf-c() {
    ./configure --prefix="$1" "${host_args[@]}" --disable-protoc --disable-shared --enable-static \
        --with-pic >config.out 2>&1 || { tail -30 config.out; return 1; }
    make -j"$jobs" >build.out 2>&1 || { tail -30 build.out; return 1; }
    make install DESTDIR="$2" >install.out 2>&1 || { tail -30 install.out; return 1; }
}

build_cjson() {
    mkdir -p "$2$1/include/cjson" "$2$1/lib"
    "${CC:-cc}" $CFLAGS -std=c89 -c cJSON.c -o cJSON.o
    "${AR:-ar}" rcs "$2$1/lib/libcjson.a" cJSON.o
    cp cJSON.h "$2$1/include/cjson/"
}

build_mbedtls() {
    # A TLS 1.2/1.3 client with X.509: no server side, no DTLS, no test programs.
    for opt in MBEDTLS_SSL_SRV_C MBEDTLS_SSL_PROTO_DTLS MBEDTLS_SSL_DTLS_ANTI_REPLAY \
               MBEDTLS_SSL_DTLS_HELLO_VERIFY MBEDTLS_SSL_DTLS_CLIENT_PORT_REUSE \
               MBEDTLS_SSL_DTLS_CONNECTION_ID MBEDTLS_SSL_DTLS_SRTP MBEDTLS_SSL_COOKIE_C \
               MBEDTLS_SSL_TICKET_C MBEDTLS_SSL_CACHE_C MBEDTLS_NET_C MBEDTLS_TIMING_C \
               MBEDTLS_SELF_TEST MBEDTLS_X509_CSR_WRITE_C MBEDTLS_X509_CRT_WRITE_C \
               MBEDTLS_X509_CREATE_C MBEDTLS_X509_CSR_PARSE_C MBEDTLS_PKCS7_C; do
        python3 scripts/config.py unset "$opt"
    done
    cmake -S . -B build-tw -DCMAKE_INSTALL_PREFIX="$1" -DCMAKE_BUILD_TYPE=Release \
        "${cmake_args[@]}" -DCMAKE_C_FLAGS="$CFLAGS" -DENABLE_PROGRAMS=OFF -DENABLE_TESTING=OFF \
        -DUSE_SHARED_MBEDTLS_LIBRARY=OFF -DUSE_STATIC_MBEDTLS_LIBRARY=ON \
        -DMBEDTLS_FATAL_WARNINGS=OFF -DCMAKE_INSTALL_LIBDIR=lib >config.out 2>&1 || { tail -30 config.out; return 1; }
    cmake --build build-tw -j"$jobs" >build.out 2>&1 || { tail -30 build.out; return 1; }
    DESTDIR="$2" cmake --install build-tw >/dev/null
}

# A prefix is reused while its version and this recipe are unchanged.
recipe=$(sha256sum "$0" | cut -c1-16)
grep -vE '^[[:space:]]*(#|$)' "$here/versions" | while read -r name pkg version suite; do
    prefix="$cache/$name-$version"
    if [ "$(cat "$prefix/.built" 2>/dev/null)" = "$recipe" ]; then
        touch "$prefix/.built"
        continue
    fi
    echo "deps: building $name $version ($suite)${triple:+ for $triple}"
    work=$(mktemp -d "$cache/.work-$name.XXXXXX")
    ( cd "$work" && apt-get source -q "$pkg=$version" >fetch.out 2>&1 ) \
        || { cat "$work/fetch.out"; echo "deps: apt-get source $pkg=$version failed (run deps/apt-sources.sh and apt-get update)" >&2; exit 1; }
    src=$(find "$work" -mindepth 1 -maxdepth 1 -type d | head -n 1)
    # Installed under $work/dest (DESTDIR), then renamed into place.
    ( cd "$src" && "build_$name" "$prefix" "$work/dest" ) || { echo "deps: $name failed" >&2; exit 1; }
    echo "$recipe" >"$work/dest$prefix/.built"
    rm -rf "$work/old"
    [ ! -e "$prefix" ] || mv "$prefix" "$work/old"
    mv "$work/dest$prefix" "$prefix"
    rm -rf "$work"
done

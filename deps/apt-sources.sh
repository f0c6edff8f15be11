#!/usr/bin/env bash
# Adds deb-src entries (bookworm and trixie, with their updates and security suites) built from
# the URIs this machine's apt already uses, when apt has none. Needs root. Idempotent.
set -euo pipefail
out=/etc/apt/sources.list.d/tw-deps-src.sources
[ -f "$out" ] && exit 0
mapfile -t uris < <(grep -hE '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
    | sed -E 's/^URIs:[[:space:]]*//; s/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+).*/\2/' \
    | grep -E '/debian(-security)?/?$' | sort -u)
[ ${#uris[@]} -gt 0 ] || { echo "apt-sources: no Debian URIs configured on this machine" >&2; exit 1; }
: >"$out.tmp"
for u in "${uris[@]}"; do
    case "$u" in
        *-security|*-security/) suites="bookworm-security trixie-security" ;;
        *) suites="bookworm bookworm-updates trixie trixie-updates" ;;
    esac
    printf 'Types: deb-src\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n' \
        "$u" "$suites" >>"$out.tmp"
done
mv "$out.tmp" "$out"

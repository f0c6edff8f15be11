#!/usr/bin/env bash
# Installs cfn-lint (the CloudFormation linter, from PyPI), pinned in deps/pip.version, into a
# virtualenv of its own in the cache, CACHE/cfn-lint-<version>/, and reuses it. `make test`
# lints layer/template.yaml with it (tests/integration/test_template.c). Needs python3 with
# its venv module (Debian's python3-venv: deps/system.sh test installs it). Prints the
# virtualenv's folder.
# Usage: deps/cfn-lint.sh CACHE_DIR
#
# One install at a time per cache (a lock); the virtualenv is marked done (.done) only once
# cfn-lint runs from it, and a half-made one left by a failed run is made again.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${1:?usage: deps/cfn-lint.sh CACHE_DIR}
version=$(awk '$1=="cfn-lint"{print $2}' "$here/pip.version")
[ -n "$version" ] || { echo "cfn-lint: no version in deps/pip.version" >&2; exit 1; }
dest="$cache/cfn-lint-$version"
mkdir -p "$cache"
exec 9>"$cache/.cfn-lint.lock"
flock 9
# A virtualenv made by another python3 (an upgrade since) no longer runs: made again.
if [ -f "$dest/.done" ] && ! "$dest/bin/cfn-lint" --version >/dev/null 2>&1; then
    rm -f "$dest/.done"
fi
if [ ! -f "$dest/.done" ]; then
    work=$(mktemp -d "$cache/.cfn-lint.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    # Made where it will live: its scripts name their interpreter by path.
    rm -rf "$dest"
    python3 -m venv "$dest" 2>"$work/venv.err" \
        || { cat "$work/venv.err" >&2; echo "cfn-lint: python3 -m venv failed (Debian: apt-get install python3-venv)" >&2; exit 1; }
    "$dest/bin/python3" -m pip install --quiet --disable-pip-version-check "cfn-lint==$version" \
        >"$work/pip.out" 2>&1 \
        || { tail -n 20 "$work/pip.out" >&2; echo "cfn-lint: pip install cfn-lint==$version failed" >&2; rm -rf "$dest"; exit 1; }
    "$dest/bin/cfn-lint" --version >/dev/null \
        || { echo "cfn-lint: the installed cfn-lint does not run" >&2; rm -rf "$dest"; exit 1; }
    touch "$dest/.done"
fi
echo "$dest"

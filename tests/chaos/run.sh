#!/usr/bin/env bash
# The long chaos run (`make chaos N=...`): tests/integration/test_chaos.c with N workflows,
# its output also in $BUILD/chaos/run-N.txt with the machine it ran on and the wall time.
# TW_CHAOS_SEED picks the draws (default: from the clock). Exit status: the test's.
#
# Usage: BUILD=build tests/chaos/run.sh [N]
set -uo pipefail
build=${BUILD:-build}
n=${1:-2000}
mkdir -p "$build/chaos"
out="$build/chaos/run-$n.txt"
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
{
    echo "chaos run: $n workflows on $(nproc) cores ($(uname -m), ${cpu:-unknown CPU}), $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    start=$(date +%s)
    TW_CHAOS_N=$n BUILD=$build "$build/tests/test_chaos"
    rc=$?
    echo "chaos run: exit status $rc, wall time $(($(date +%s) - start)) s"
    exit $rc
} 2>&1 | tee "$out"

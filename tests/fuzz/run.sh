#!/usr/bin/env bash
# Runs fuzz targets (`make fuzz`): each for a fixed time on a scratch copy of its seed corpus and
# its saved regressions, with its dictionary when it has one, then one summary line per target.
# A target that finds a crash, a hang (over 10 s on one input), a leak or a sanitizer report
# fails the run; the input is left in the scratch folder and its path printed.
#
#   tests/fuzz/run.sh FUZZ_BUILD SECONDS TARGET...
#
# The repository's corpus is never written to: what the fuzzer adds stays in
# FUZZ_BUILD/run/<target>/corpus (merge it by hand with -merge=1 when it is worth keeping).
set -u
build=$(cd "$1" && pwd)
secs=$2
shift 2
root=$(pwd)
failed=()
for t in "$@"; do
    bin=$build/fuzz_$t
    work=$build/run/$t
    rm -rf "$work"
    mkdir -p "$work/corpus" "$work/crashes"
    for d in "$root/tests/fuzz/corpus/$t" "$root/tests/fuzz/regressions/$t"; do
        [ -d "$d" ] && find "$d" -maxdepth 1 -type f -exec cp {} "$work/corpus/" \;
    done
    args=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
          -artifact_prefix="$work/crashes/")
    [ -f "$root/tests/fuzz/$t.dict" ] && args+=(-dict="$root/tests/fuzz/$t.dict")
    # Its own working folder: a target's scratch files never land in the repository.
    (cd "$work" && exec "$bin" "${args[@]}" "$work/corpus") >"$work/log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
    last=$(grep -E '^#[0-9]+' "$work/log" | tail -n 1)
    cov=$(printf '%s\n' "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
    ft=$(printf '%s\n' "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
    corp=$(printf '%s\n' "$last" | sed -n 's/.*corp: \([0-9]*\).*/\1/p')
    if [ "$rc" -ne 0 ]; then
        echo "== fuzz $t: FAILED (exit status $rc); the end of its log ($work/log):"
        tail -n 60 "$work/log"
        found=$(find "$work/crashes" -type f | sort)
        if [ -n "$found" ]; then
            echo "== fuzz $t: the input that broke it (save it under tests/fuzz/regressions/$t/"
            echo "   once fixed; reproduce with: $bin INPUT):"
            printf '   %s\n' $found
        fi
        failed+=("$t")
        continue
    fi
    echo "== fuzz $t: ${runs:-?} runs in ${secs} s, coverage ${cov:-?} edges, ${ft:-?} features," \
         "corpus ${corp:-?} inputs"
done
if [ ${#failed[@]} -ne 0 ]; then
    echo "fuzz: ${#failed[@]} of $# target(s) failed: ${failed[*]}"
    echo "$(($# - ${#failed[@]})) passed, ${#failed[@]} failed"
    exit 1
fi
echo "fuzz: $# target(s) ran ${secs} s each without a finding"
echo "$# passed, 0 failed"

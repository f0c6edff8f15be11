#!/usr/bin/env bash
# Us against the official Go SDK, side by side: runs bootstrap (with the hello example and
# bench/steps) and the peer (bench/peer/, a Go worker run the way Temporal's Go Lambda helper
# runs it) on the same emulator and the same real local Temporal server, whose Worker
# Controller invokes the function as in production. Scenarios run interleaved (us, peer; peer,
# us on the next repetition), each on a fresh server and emulator, REPS times; the table of
# medians and ratios (ours / peer's) goes to build/bench/compare.md, every measured value to
# build/bench/compare.raw, the logs of the last run of each to build/bench/logs/.
#
# Scenarios (BENCH_SCENARIOS picks some, in this order):
#   size        deployable size: our layer-x86_64.zip + function-x86_64.zip, the peer's zipped binary
#   hello       one Greet started with no environment running: end to end from the history
#               (started -> completed), Init Duration and Max Memory Used of its invocation
#   burst100    100 Greet at once, function timeout 30 s: invocations, Max Memory Used
#   burst50_30  50 Greet at once, timeout 30 s: invocations, billed ms per workflow
#   burst50_300 the same at a timeout of 300 s (the peer's invocations last 293 s)
#   queued      500 Greet queued before one invocation we send ourselves (no compute config,
#               so Temporal does not invoke): wall time until all closed, the runtime's CPU
#               and the server's over that time (both share the machine's cores)
#   steps       Steps(500) through the Worker Controller, timeout 30 s: sum of workflow-task
#               times (WorkflowTaskStarted -> Completed in the history), invocations
#
# Usage: bench/compare.sh [REPS]     (default 3, or BENCH_REPS)
# Knobs: BENCH_SCENARIOS, BENCH_STEPS (500), BENCH_QUEUED (500), BUILD (build).
# Both run with their defaults (2 workflow pollers, 1 activity poller, 10 workflow-task and 2
# activity slots, 5 s stop timeout, 7 s shutdown buffer; ours also exits after 2 s idle).
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BUILD:-build}
reps=${1:-${BENCH_REPS:-3}}
scenarios=${BENCH_SCENARIOS:-size hello burst100 burst50_30 burst50_300 queued steps}
nsteps=${BENCH_STEPS:-500}
nqueued=${BENCH_QUEUED:-500}
mkdir -p "$B/bench/logs"
raw="$B/bench/compare.raw"
: >"$raw"
hz=$(getconf CLK_TCK)
EMU= SRV= W=
cleanup() {
    [ -n "$SRV$EMU" ] && kill $SRV $EMU 2>/dev/null && wait $SRV $EMU 2>/dev/null
    [ -n "$W" ] && rm -rf "$W"
    return 0
}
trap cleanup EXIT

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_for() { for _ in $(seq 1 900); do grep -qs "$1" "$2" && return 0; sleep 0.1; done; echo "bench: $2: no '$1'" >&2; return 1; }
now_ms() { date +%s%3N; }
note() { echo "bench: $*" >&2; }
# record SCENARIO SYSTEM REP KEY VALUE
record() { echo "$1 $2 $3 $4 $5" >>"$raw"; }

# ---- one system on a fresh emulator and server ----
# stack_up SYSTEM HANDLER TIMEOUT COMPUTE: sets W, EMU, SRV, TPORT, LPORT. COMPUTE 1 gives the
# version the Lambda compute config (Temporal invokes); 0 leaves it without (nobody invokes).
stack_up() {
    local sys=$1 handler=$2 timeout=$3 compute=$4 boot
    W=$(mktemp -d)
    TPORT=$(free_port)
    mkdir -p "$W/code"
    if [ "$sys" = us ]; then
        boot="$B/bootstrap"
        cp "$B/examples/libhello.so" "$B/bench/libsteps.so" "$W/code/"
    else
        boot="$B/bench-peer"
    fi
    "$B/lambda-emu" --port 0 --code "$W/code" --bootstrap "$boot" --handler "$handler" \
        --timeout "$timeout" --concurrency 10 -e TEMPORAL_ADDRESS=127.0.0.1:$TPORT \
        -e TEMPORAL_TASK_QUEUE=bench -e TEMPORAL_DEPLOYMENT_NAME=bench \
        -e TEMPORAL_WORKER_BUILD_ID=v1 >"$W/lambda.log" 2>&1 &
    EMU=$!
    wait_for "listening on" "$W/lambda.log"
    LPORT=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$W/lambda.log" | cut -d: -f2)
    AWS_ENDPOINT_URL_LAMBDA=http://127.0.0.1:$LPORT AWS_ACCESS_KEY_ID=local \
    AWS_SECRET_ACCESS_KEY=local AWS_REGION=us-east-1 \
        "$B/temporal-server" --port "$TPORT" >"$W/temporal.log" 2>&1 &
    SRV=$!
    wait_for "listening on" "$W/temporal.log"
    drv create-deployment --deployment bench >/dev/null
    if [ "$compute" = 1 ]; then
        drv create-version --deployment bench --build-id v1 \
            --lambda-arn arn:aws:lambda:us-east-1:000000000000:function:function >/dev/null
    else
        drv create-version --deployment bench --build-id v1 >/dev/null
    fi
    drv set-current --deployment bench --build-id v1 >/dev/null
}

# stack_down NAME: stops both, keeps the logs as build/bench/logs/NAME/.
stack_down() {
    kill "$SRV" "$EMU" 2>/dev/null || true
    wait "$SRV" "$EMU" 2>/dev/null || true
    rm -rf "$B/bench/logs/$1" && mkdir -p "$B/bench/logs/$1"
    cp "$W"/*.log "$W"/*.json "$B/bench/logs/$1/" 2>/dev/null || true
    rm -rf "$W"
    EMU= SRV= W=
}

drv() { "$B/tw-driver" --address "127.0.0.1:$TPORT" "$@"; }

# Waits (up to TIMEOUT + 60 s) until every invocation has ended: no START lacks its END, for a
# second.
wait_invocations_end() {
    local limit=$(( ($1 + 60) * 2 )) s e
    for _ in $(seq 1 "$limit"); do
        s=$(grep -c "^START" "$W/lambda.log" || true); e=$(grep -c "^END" "$W/lambda.log" || true)
        if [ "$s" = "$e" ] && [ "$s" != 0 ]; then
            sleep 1
            [ "$(grep -c "^START" "$W/lambda.log")" = "$s" ] && return 0
        fi
        sleep 0.5
    done
    note "invocations did not end in time"
    return 1
}

invocations() { grep -c "^REPORT" "$W/lambda.log" || true; }
billed_ms() { grep -o "Billed Duration: [0-9]*" "$W/lambda.log" | awk '{s+=$3} END {print s+0}'; }
max_memory_mb() { grep -o "Max Memory Used: [0-9]*" "$W/lambda.log" | awk '$4>m{m=$4} END {print m+0}'; }
init_ms() { grep -o "Init Duration: [0-9.]*" "$W/lambda.log" | head -1 | awk '{print $3}'; }

# CPU seconds * 1000 of the runtime processes (the emulator's children), threads included.
runtime_cpu_ms() {
    local total=0 pid t
    for pid in $(ps -o pid= --ppid "$EMU"); do
        t=$(awk -v hz="$hz" '{sub(/^.*\) /, ""); print ($12 + $13 + $14 + $15) * 1000 / hz}' \
            "/proc/$pid/stat" 2>/dev/null || echo 0)
        total=$(awk -v a="$total" -v b="$t" 'BEGIN {print a + b}')
    done
    echo "$total"
}

# CPU ms of one process (all its threads).
pid_cpu_ms() { awk -v hz="$hz" '{sub(/^.*\) /, ""); print ($12 + $13) * 1000 / hz}' "/proc/$1/stat"; }

# history ID FILE, then the analysis of FILE (bench/history.py): prints KEY VALUE lines.
history_stats() {
    drv history --id "$1" --out "$W/$1.json" >/dev/null
    python3 bench/history.py "$W/$1.json"
}

# ---- scenarios: each run_SCENARIO SYSTEM REP records its values ----
run_hello() {
    local handler=libhello.so
    [ "$1" = peer ] && handler=bootstrap
    stack_up "$1" "$handler" 30 1
    drv start --id hello --type Greet --task-queue bench --input '"Temporal"' >/dev/null
    drv --timeout 120s await --id hello >/dev/null
    wait_invocations_end 30
    history_stats hello | while read -r k v; do
        if [ "$k" = e2e_ms ]; then record hello "$1" "$2" e2e_ms "$v"; fi
    done
    record hello "$1" "$2" init_ms "$(init_ms)"
    record hello "$1" "$2" max_memory_mb "$(max_memory_mb)"
    record hello "$1" "$2" invocations "$(invocations)"
    stack_down "hello-$1"
}

# burst SCENARIO SYSTEM REP COUNT TIMEOUT
burst() {
    local scen=$1 sys=$2 rep=$3 n=$4 timeout=$5 handler=libhello.so
    [ "$sys" = peer ] && handler=bootstrap
    stack_up "$sys" "$handler" "$timeout" 1
    drv start-many --count "$n" --id-prefix b --type Greet --task-queue bench --input '"{i}"' >/dev/null
    drv --timeout 300s await-many --count "$n" --id-prefix b >"$W/await.json"
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(d["by_status"] != {"COMPLETED": int(sys.argv[2])})' \
        "$W/await.json" "$n" || note "$scen $sys: not every workflow completed"
    wait_invocations_end "$timeout"
    local inv billed
    inv=$(invocations); billed=$(billed_ms)
    record "$scen" "$sys" "$rep" invocations "$inv"
    record "$scen" "$sys" "$rep" billed_ms "$billed"
    record "$scen" "$sys" "$rep" billed_ms_per_wf "$(awk -v b="$billed" -v n="$n" 'BEGIN {print b / n}')"
    record "$scen" "$sys" "$rep" max_memory_mb "$(max_memory_mb)"
    stack_down "$scen-$sys"
}
run_burst100() { burst burst100 "$1" "$2" 100 30; }
run_burst50_30() { burst burst50_30 "$1" "$2" 50 30; }
run_burst50_300() { burst burst50_300 "$1" "$2" 50 300; }

run_queued() {
    local handler=libhello.so t0 t1 cpu srv0 srv1
    [ "$1" = peer ] && handler=bootstrap
    stack_up "$1" "$handler" 300 0
    drv start-many --count "$nqueued" --id-prefix q --type Greet --task-queue bench --input '"{i}"' >/dev/null
    srv0=$(pid_cpu_ms "$SRV")
    t0=$(now_ms)
    curl -sf -o /dev/null -X POST -H 'X-Amz-Invocation-Type: Event' -d '{}' \
        "http://127.0.0.1:$LPORT/2015-03-31/functions/function/invocations"
    drv --timeout 600s await-many --count "$nqueued" --id-prefix q >"$W/await.json"
    t1=$(now_ms)
    cpu=$(runtime_cpu_ms)
    srv1=$(pid_cpu_ms "$SRV")
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(d["by_status"] != {"COMPLETED": int(sys.argv[2])})' \
        "$W/await.json" "$nqueued" || note "queued $1: not every workflow completed"
    record queued "$1" "$2" wall_ms $((t1 - t0))
    record queued "$1" "$2" cpu_ms "$cpu"
    record queued "$1" "$2" server_cpu_ms "$(awk -v a="$srv0" -v b="$srv1" 'BEGIN {print b - a}')"
    record queued "$1" "$2" invocations "$(grep -c "^START" "$W/lambda.log" || true)"
    stack_down "queued-$1"
}

run_steps() {
    local handler=libsteps.so
    [ "$1" = peer ] && handler=bootstrap
    stack_up "$1" "$handler" 30 1
    drv start --id steps --type Steps --task-queue bench --input "$nsteps" >/dev/null
    drv --timeout 900s await --id steps >"$W/await.json"
    grep -q '"COMPLETED"' "$W/await.json" || note "steps $1: the workflow did not complete"
    wait_invocations_end 30
    history_stats steps | while read -r k v; do record steps "$1" "$2" "$k" "$v"; done
    record steps "$1" "$2" invocations "$(invocations)"
    record steps "$1" "$2" billed_ms "$(billed_ms)"
    stack_down "steps-$1"
}

run_size() {
    local stage
    bash layer/build.sh "$B" x86_64="$B" >/dev/null
    stage=$(mktemp -d)
    cp "$B/bench-peer" "$stage/bootstrap"
    (cd "$stage" && zip -q -X peer.zip bootstrap)
    record size us 1 deploy_bytes $(( $(stat -c %s "$B/layer-x86_64.zip") + $(stat -c %s "$B/function-x86_64.zip") ))
    record size peer 1 deploy_bytes "$(stat -c %s "$stage/peer.zip")"
    rm -rf "$stage"
}

for rep in $(seq 1 "$reps"); do
    order="us peer"
    [ $((rep % 2)) = 0 ] && order="peer us"
    for scen in $scenarios; do
        if [ "$scen" = size ]; then
            [ "$rep" = 1 ] && run_size
            continue
        fi
        for sys in $order; do
            note "repetition $rep/$reps: $scen, $sys"
            "run_$scen" "$sys" "$rep"
        done
    done
done
python3 bench/summarize.py "$raw" "$reps" "$nsteps" "$nqueued" | tee "$B/bench/compare.md"

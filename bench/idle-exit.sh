#!/usr/bin/env bash
# Billed Lambda time per workflow with and without idle exit, on the real serverless flow:
# the local server's Worker Controller invokes the local Lambda (hello example) for N workflows
# started at once. For each TEMPORAL_IDLE_EXIT value, waits until every invocation has ended and
# sums the emulator's Billed Duration. Prints a table (and writes it to build/bench/idle-exit.md).
# Usage: bench/idle-exit.sh [N] [IDLE ...]     defaults: 50 workflows, idle "0s 1s 2s 5s"
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BUILD:-build}
n=${1:-50}
shift || true
idles=${*:-0s 1s 2s 5s}
mkdir -p "$B/bench"
out="$B/bench/idle-exit.md"
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_for() { for _ in $(seq 1 600); do grep -qs "$1" "$2" && return 0; sleep 0.1; done; echo "bench: $2: no '$1'" >&2; exit 1; }

run_one() { # idle -> prints "invocations billed_ms"
    local idle=$1 work tport lport
    work=$(mktemp -d)
    tport=$(free_port)
    mkdir -p "$work/code" && cp "$B/examples/libhello.so" "$work/code/"
    "$B/lambda-emu" --port 0 --code "$work/code" --bootstrap "$B/bootstrap" --handler libhello.so \
        --timeout 30 --concurrency 10 -e TEMPORAL_ADDRESS=127.0.0.1:$tport -e TEMPORAL_TASK_QUEUE=bench \
        -e TEMPORAL_DEPLOYMENT_NAME=bench -e TEMPORAL_WORKER_BUILD_ID=v1 \
        -e TEMPORAL_IDLE_EXIT="$idle" >"$work/lambda.log" 2>&1 &
    local emu=$!
    wait_for "listening on" "$work/lambda.log"
    lport=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$work/lambda.log" | cut -d: -f2)
    AWS_ENDPOINT_URL_LAMBDA=http://127.0.0.1:$lport AWS_ACCESS_KEY_ID=local \
    AWS_SECRET_ACCESS_KEY=local AWS_REGION=us-east-1 \
        "$B/temporal-server" --port "$tport" >"$work/temporal.log" 2>&1 &
    local srv=$!
    wait_for "listening on" "$work/temporal.log"
    drv() { "$B/tw-driver" --address "127.0.0.1:$tport" "$@" >/dev/null; }
    drv create-deployment --deployment bench
    drv create-version --deployment bench --build-id v1 \
        --lambda-arn arn:aws:lambda:us-east-1:000000000000:function:function
    drv set-current --deployment bench --build-id v1
    for i in $(seq 1 "$n"); do drv start --id "b$i" --type Greet --task-queue bench --input "\"$i\""; done
    for i in $(seq 1 "$n"); do drv --timeout 120s await --id "b$i"; done
    # Every invocation ends (idle exit, or deadline - buffer): wait until no START lacks its END.
    for _ in $(seq 1 400); do
        s=$(grep -c "^START" "$work/lambda.log" || true); e=$(grep -c "^END" "$work/lambda.log" || true)
        [ "$s" = "$e" ] && sleep 1 && [ "$(grep -c "^START" "$work/lambda.log")" = "$s" ] && break
        sleep 0.5
    done
    local inv billed
    inv=$(grep -c "^REPORT" "$work/lambda.log" || true)
    billed=$(grep -o "Billed Duration: [0-9]*" "$work/lambda.log" | awk '{s+=$3} END {print s+0}')
    kill $srv $emu 2>/dev/null; wait $srv $emu 2>/dev/null || true
    rm -rf "$work"
    echo "$inv $billed"
}

{
    echo "| TEMPORAL_IDLE_EXIT | workflows | invocations | billed ms | billed ms per workflow |"
    echo "|---|---|---|---|---|"
    for idle in $idles; do
        read -r inv billed < <(run_one "$idle")
        echo "| $idle | $n | $inv | $billed | $((billed / n)) |"
    done
} | tee "$out"

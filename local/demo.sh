#!/usr/bin/env bash
# The whole serverless flow on this machine: a real Temporal server whose Worker Controller
# invokes a local Lambda (the emulator) running build/bootstrap with the hello example. Starts
# both, creates the Worker Deployment Version with an aws-lambda compute config, starts one
# workflow, prints its result and the Lambda REPORT lines, stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BUILD:-build}
work=$(mktemp -d)
cleanup() {
    kill $(jobs -p) 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_for() { for _ in $(seq 1 600); do grep -qs "$1" "$2" && return 0; sleep 0.1; done; echo "demo: $3 did not start:" >&2; cat "$2" >&2; exit 1; }

tport=$(free_port)
mkdir -p "$work/code"
cp "$B/examples/libhello.so" "$work/code/"
echo "== starting the local Lambda (function \"function\", hello example)"
"$B/lambda-emu" --port 0 --code "$work/code" --bootstrap "$B/bootstrap" --handler libhello.so \
    --timeout 30 -e TEMPORAL_ADDRESS=127.0.0.1:$tport -e TEMPORAL_TASK_QUEUE=demo \
    -e TEMPORAL_DEPLOYMENT_NAME=demo -e TEMPORAL_WORKER_BUILD_ID=v1 \
    -e TEMPORAL_SHUTDOWN_BUFFER=2s -e TEMPORAL_WORKER_STOP_TIMEOUT=1s -e TEMPORAL_IDLE_EXIT=2s \
    >"$work/lambda.log" 2>&1 &
wait_for "listening on" "$work/lambda.log" "the Lambda emulator"
lport=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$work/lambda.log" | cut -d: -f2)

echo "== starting Temporal (Worker Controller on, its AWS SDK pointed at the local Lambda)"
AWS_ENDPOINT_URL_LAMBDA=http://127.0.0.1:$lport AWS_ACCESS_KEY_ID=local \
AWS_SECRET_ACCESS_KEY=local AWS_REGION=us-east-1 \
    "$B/temporal-server" --port "$tport" >"$work/temporal.log" 2>&1 &
wait_for "listening on" "$work/temporal.log" "Temporal"

drv() { "$B/tw-driver" --address "127.0.0.1:$tport" "$@"; }
arn=arn:aws:lambda:us-east-1:000000000000:function:function
echo "== creating Worker Deployment \"demo\", version v1 -> $arn, set current"
drv create-deployment --deployment demo >/dev/null
drv create-version --deployment demo --build-id v1 --lambda-arn "$arn" >/dev/null
drv set-current --deployment demo --build-id v1 >/dev/null

echo "== starting workflow Greet(\"Temporal\") on task queue demo; nobody polls it yet"
drv start --id demo-hello --type Greet --task-queue demo --input '"Temporal"' >/dev/null
echo "== waiting: Temporal invokes the function, the worker runs the workflow"
drv --timeout 60s await --id demo-hello
for _ in $(seq 1 100); do grep -q "^REPORT" "$work/lambda.log" && break; sleep 0.2; done
echo "== Lambda log lines"
grep -E "^(START|END|REPORT|INIT_START)" "$work/lambda.log"

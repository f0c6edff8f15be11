#!/usr/bin/env bash
# Records the history the replay benchmark (bench/replay.c) replays as its long workflow:
# Steps(N) of bench/steps (N sequential activities, then a one-second timer) run by
# build/bootstrap under the emulator against the real server, saved by tw-driver as a
# serialised temporal.api.history.v1.History. Needs bootstrap, lambda-emu, the server, the
# driver and bench/libsteps.so built in $BUILD. Usage: record-steps.sh [N] (default 500);
# writes bench/data/steps-N.history.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BUILD:-build}
n=${1:-500}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
"$B/temporal-server" --port "$port" --log-level "${SERVER_LOG_LEVEL:-warn}" >"$work/server.log" 2>&1 &
until grep -qs "listening" "$work/server.log"; do sleep 0.2; done
drv() { "$B/tw-driver" --address "127.0.0.1:$port" "$@"; }
drv create-deployment --deployment rec >/dev/null
drv create-version --deployment rec --build-id b1 >/dev/null
drv set-current --deployment rec --build-id b1 >/dev/null

mkdir -p "$work/code"
"$B/lambda-emu" --port 0 --code "$work/code" --bootstrap "$B/bootstrap" \
    --handler "$(realpath "$B/bench/libsteps.so")" --timeout 600 \
    -e TEMPORAL_ADDRESS=127.0.0.1:$port -e TEMPORAL_TASK_QUEUE=rec -e TEMPORAL_DEPLOYMENT_NAME=rec \
    -e TEMPORAL_WORKER_BUILD_ID=b1 -e TEMPORAL_SHUTDOWN_BUFFER=2s -e TEMPORAL_WORKER_STOP_TIMEOUT=1s \
    -e TEMPORAL_IDLE_EXIT=3s >"$work/emu.log" 2>&1 &
emu=$!
until grep -qs "listening on" "$work/emu.log"; do sleep 0.1; done
eport=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$work/emu.log" | cut -d: -f2)

drv start --id "steps-$n" --type Steps --task-queue rec --input "$n" >/dev/null
curl -s -X POST "http://127.0.0.1:$eport/2015-03-31/functions/function/invocations" -d '{}' >/dev/null
drv --timeout 600s await --id "steps-$n" >"$work/await.json"
grep -q '"COMPLETED"' "$work/await.json" || { echo "steps-$n did not complete" >&2; exit 1; }
kill $emu; wait $emu 2>/dev/null || true
mkdir -p bench/data
drv history --id "steps-$n" --out-binary "bench/data/steps-$n.history"
echo "bench/data/steps-$n.history: $(wc -c <"bench/data/steps-$n.history") bytes"

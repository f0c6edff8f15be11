#!/usr/bin/env bash
# Records the histories of queries and updates that tests/unit/test_wf_handlers.c replays,
# from the real server: tests/fixtures/lib_wf_handlers.c runs through bootstrap under the
# emulator while tw-driver sends updates and signals (some while an update handler's activity
# runs, a rejected update, a failing one) and saves each history as a serialised
# temporal.api.history.v1.History. Run after the binaries are built (BUILD, default build);
# writes tests/data/handlers-*.history.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
"$B/temporal-server" --port "$port" --log-level warn >"$work/server.log" 2>&1 &
until grep -qs "listening" "$work/server.log"; do sleep 0.2; done
drv() { "$B/tw-driver" --address "127.0.0.1:$port" "$@"; }
drv create-deployment --deployment rec >/dev/null
drv create-version --deployment rec --build-id b1 >/dev/null
drv set-current --deployment rec --build-id b1 >/dev/null
mkdir -p "$work/code"
"$B/lambda-emu" --port 0 --code "$work/code" --bootstrap "$B/bootstrap" \
    --handler "$(realpath "$B/fixtures/lib_wf_handlers.so")" --timeout 20 \
    -e TEMPORAL_ADDRESS=127.0.0.1:$port -e TEMPORAL_TASK_QUEUE=rec -e TEMPORAL_DEPLOYMENT_NAME=rec \
    -e TEMPORAL_WORKER_BUILD_ID=b1 -e TEMPORAL_SHUTDOWN_BUFFER=2s -e TEMPORAL_WORKER_STOP_TIMEOUT=1s \
    -e TEMPORAL_IDLE_EXIT=3s >"$work/emu.log" 2>&1 &
until grep -qs "listening on" "$work/emu.log"; do sleep 0.1; done
EPORT=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$work/emu.log" | cut -d: -f2)
invoke() { curl -s -X POST "http://127.0.0.1:$EPORT/2015-03-31/functions/function/invocations" -d '{}' >/dev/null; }

# Account: updates and signals while update handlers wait on their activities;
# 10+5+100+15+1+100 = 231.
drv start --id handlers-interleave --type Account --task-queue rec >/dev/null
invoke & inv=$!
up() { drv update --id handlers-interleave "$@" >/dev/null; }
up --name slow_add --input 10 --wait accepted
up --name add --input 5
drv signal --id handlers-interleave --name bump --input 100 >/dev/null
up --name slow_add --input 15 --wait accepted
up --name add --input -1 2>/dev/null && { echo "add -1 was not rejected" >&2; exit 1; }
up --name fail 2>/dev/null && { echo "fail did not fail" >&2; exit 1; }
up --name add --input 1
drv signal --id handlers-interleave --name bump --input 100 >/dev/null
up --name finish
wait $inv

# Hasty: the update waits for the first workflow task, which completes the workflow.
drv start --id handlers-hasty --type Hasty --task-queue rec >/dev/null
drv update --id handlers-hasty --name u --update-id first >/dev/null & upd=$!
sleep 0.5
invoke
wait $upd

for id in handlers-interleave handlers-hasty; do
    drv history --id $id --out-binary tests/data/$id.history
done

#!/usr/bin/env bash
# Records the workflow histories the replay unit tests use (tests/unit/test_wf.c), from the
# real server: the examples run through build/bootstrap under the emulator, then tw-driver
# saves each history as a serialised temporal.api.history.v1.History. Run after `make test`
# built everything; writes tests/data/*.history.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$work"; echo "$work" >&2' EXIT
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
"$B/temporal-server" --port "$port" --log-level "${SERVER_LOG_LEVEL:-warn}" >"$work/server.log" 2>&1 &
until grep -qs "listening" "$work/server.log"; do sleep 0.2; done
drv() { "$B/tw-driver" --address "127.0.0.1:$port" "$@"; }
drv create-deployment --deployment rec >/dev/null
drv create-version --deployment rec --build-id b1 >/dev/null
drv set-current --deployment rec --build-id b1 >/dev/null

run() { # library workflow-type id input timeout
    mkdir -p "$work/code-$3"
    "$B/lambda-emu" --port 0 --code "$work/code-$3" --bootstrap "$B/bootstrap" \
        --handler "$(realpath "$B/$1")" --timeout "$5" \
        -e TEMPORAL_ADDRESS=127.0.0.1:$port -e TEMPORAL_TASK_QUEUE=rec -e TEMPORAL_DEPLOYMENT_NAME=rec \
        -e TEMPORAL_WORKER_BUILD_ID=b1 -e TEMPORAL_SHUTDOWN_BUFFER=2s -e TEMPORAL_WORKER_STOP_TIMEOUT=1s \
        -e TEMPORAL_IDLE_EXIT=3s >"$work/emu-$3.log" 2>&1 &
    local emu=$!
    until grep -qs "listening on" "$work/emu-$3.log"; do sleep 0.1; done
    local eport; eport=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$work/emu-$3.log" | cut -d: -f2)
    drv start --id "$3" --type "$2" --task-queue rec --input "$4" >/dev/null
    curl -s -X POST "http://127.0.0.1:$eport/2015-03-31/functions/function/invocations" -d '{}' >/dev/null
    kill $emu; wait $emu 2>/dev/null || true
}
run examples/libhello.so Greet hello '"Replay"' 10
run examples/libtimers.so FanOut fanout '[2,3]' 12
run fixtures/lib_changing_v1.so Changing changing '{}' 6
drv history --id hello --out-binary tests/data/hello.history
drv history --id fanout --out-binary tests/data/fanout.history
drv history --id changing --out-binary tests/data/changing.history

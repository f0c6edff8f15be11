#!/usr/bin/env bash
# Records the workflow histories the replay unit tests use (tests/unit/test_wf.c), from the
# real server: the examples and tests/fixtures/lib_wf_talk.c run through build/bootstrap under
# the emulator, driven by tw-driver (signals and cancellations while they run), then tw-driver
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

emu_up() { # library id timeout: an emulator for the library (EMU, EPORT)
    mkdir -p "$work/code-$2"
    "$B/lambda-emu" --port 0 --code "$work/code-$2" --bootstrap "$B/bootstrap" \
        --handler "$(realpath "$B/$1")" --timeout "$3" \
        -e TEMPORAL_ADDRESS=127.0.0.1:$port -e TEMPORAL_TASK_QUEUE=rec -e TEMPORAL_DEPLOYMENT_NAME=rec \
        -e TEMPORAL_WORKER_BUILD_ID=b1 -e TEMPORAL_SHUTDOWN_BUFFER=2s -e TEMPORAL_WORKER_STOP_TIMEOUT=1s \
        -e TEMPORAL_IDLE_EXIT=3s >"$work/emu-$2.log" 2>&1 &
    EMU=$!
    until grep -qs "listening on" "$work/emu-$2.log"; do sleep 0.1; done
    EPORT=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$work/emu-$2.log" | cut -d: -f2)
}
invoke() { curl -s -X POST "http://127.0.0.1:$EPORT/2015-03-31/functions/function/invocations" -d '{}' >/dev/null; }
emu_down() { kill $EMU; wait $EMU 2>/dev/null || true; }

run() { # library workflow-type id input timeout
    emu_up "$1" "$3" "$5"
    drv start --id "$3" --type "$2" --task-queue rec --input "$4" >/dev/null
    invoke
    emu_down
}
run examples/libhello.so Greet hello '"Replay"' 10
run examples/libtimers.so FanOut fanout '[2,3]' 12
run fixtures/lib_changing_v1.so Changing changing '{}' 6

# Workflows people talk to (tests/fixtures/lib_wf_talk.c): coroutines, cancellation, signals.
T=fixtures/lib_wf_talk.so
run $T GoJoin talk-gojoin '{}' 10
run $T Condition talk-condition 1000 10
run $T SelectCancels talk-select '{}' 10
run $T CancelActivity talk-cancel-wait 1 12
emu_up $T talk-collect 12
drv signal-with-start --id talk-collect --type Collect --task-queue rec --name add \
    --signal-input '"first"' >/dev/null
for s in 'add "x"' 'work "w"' 'zzz 1' 'add "y"'; do
    set -- $s; drv signal --id talk-collect --name "$1" --input "$2" >/dev/null
done
invoke &
sleep 2; drv signal --id talk-collect --name add --input '"late"' >/dev/null
drv signal --id talk-collect --name done >/dev/null
wait $!; emu_down
emu_up $T talk-interleave 14   # signals while activities complete
drv start --id talk-interleave --type Interleave --task-queue rec --input 6 --input 300 >/dev/null
invoke & inv=$!
sleep 0.5
for i in 0 1 2 3 4 5; do drv signal --id talk-interleave --name add --input "\"s$i\"" >/dev/null; sleep 0.23; done
drv signal --id talk-interleave --name done >/dev/null
wait $inv; emu_down
emu_up $T talk-cancel 14       # cancelled from the client while an activity runs
drv start --id talk-cancel --type CancelMe --task-queue rec --input 1 >/dev/null
invoke & inv=$!
sleep 2; drv cancel --id talk-cancel >/dev/null
wait $inv; emu_down
emu_up $T talk-receive 10
drv start --id talk-receive --type Receive --task-queue rec >/dev/null
drv signal --id talk-receive --name msg --input '"a"' >/dev/null
invoke & inv=$!
sleep 1; drv signal --id talk-receive --name msg --input '"b"' >/dev/null
wait $inv; emu_down
emu_up $T talk-count 20        # longer than a page
drv start --id talk-count --type Count --task-queue rec --input 600 >/dev/null
drv --timeout 120s signal-many --id talk-count --name tick --count 600 >/dev/null
invoke; emu_down
for id in talk-gojoin talk-condition talk-select talk-cancel-wait talk-collect talk-interleave \
          talk-cancel talk-receive talk-count; do
    drv history --id $id --out-binary tests/data/$id.history
done

drv history --id hello --out-binary tests/data/hello.history
drv history --id fanout --out-binary tests/data/fanout.history
drv history --id changing --out-binary tests/data/changing.history

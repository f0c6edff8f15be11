#!/usr/bin/env bash
# Runs the local Temporal server (temporal-server, see build.sh) in the background.
#
#   server.sh start DIR PORT [server flags...]  start on 127.0.0.1:PORT (0: a free port), wait
#                                              until it answers, print "127.0.0.1:PORT"
#   server.sh wait  DIR PORT [SECONDS]          wait until it answers (default 120 s)
#   server.sh stop  DIR PORT                    SIGTERM, then SIGKILL after 10 s
#   server.sh status DIR PORT                   exit 0 when it runs
#
# DIR holds server-PORT.pid and server-PORT.log (stdout and stderr). The server binary is
# $TW_TEMPORAL_SERVER, else build/temporal-server of this repository (`make` links it there).
# The environment is passed on (AWS_ENDPOINT_URL_LAMBDA, AWS_ACCESS_KEY_ID, ... for the Worker
# Controller). Server flags: --tls-cert F --tls-key F [--client-ca F] [--tls-ca F],
# --namespace NS (repeatable), --log-level L, --dynamic-config-value K=JSON, ...; see
# `temporal-server -h`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -ge 3 ] || usage
cmd=$1 dir=$2 port=$3
shift 3

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
if [ "$cmd" = start ] && [ "$port" = 0 ]; then
    port=$(free_port)
fi
pidfile="$dir/server-$port.pid"
log="$dir/server-$port.log"

# The pid in the pid file, when that process is still our server on that port.
running_pid() {
    [ -f "$pidfile" ] || return 1
    local pid
    pid=$(cat "$pidfile")
    [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "--port $port " || return 1
    echo "$pid"
}

wait_up() { # seconds
    local deadline=$((SECONDS + $1))
    while [ $SECONDS -lt $deadline ]; do
        if grep -q "temporal-server: listening on 127.0.0.1:$port\$" "$log" 2>/dev/null; then
            echo "127.0.0.1:$port"
            return 0
        fi
        if ! running_pid >/dev/null; then
            echo "server.sh: the server on port $port is not running; its log ($log):" >&2
            tail -n 40 "$log" >&2 2>/dev/null || true
            return 1
        fi
        sleep 0.1
    done
    echo "server.sh: the server on port $port did not answer within $1 s; its log ($log):" >&2
    tail -n 40 "$log" >&2
    return 1
}

case "$cmd" in
start)
    bin=${TW_TEMPORAL_SERVER:-$here/../../build/temporal-server}
    [ -x "$bin" ] || { echo "server.sh: no server binary at $bin (run make, or set TW_TEMPORAL_SERVER)" >&2; exit 1; }
    mkdir -p "$dir"
    if pid=$(running_pid); then
        echo "server.sh: a server already runs on port $port (pid $pid)" >&2
        exit 1
    fi
    # Its own session: no signal from this shell's terminal or job control reaches it.
    setsid "$bin" --port "$port" "$@" </dev/null >"$log" 2>&1 &
    echo $! >"$pidfile"
    wait_up 120 || { bash "$0" stop "$dir" "$port" >/dev/null 2>&1 || true; exit 1; }
    ;;
wait)
    wait_up "${1:-120}"
    ;;
stop)
    if ! pid=$(running_pid); then
        rm -f "$pidfile"
        exit 0
    fi
    # (running_pid, not kill -0: a zombie nobody reaps yet counts as gone)
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do
        running_pid >/dev/null || break
        sleep 0.1
    done
    if running_pid >/dev/null; then
        echo "server.sh: the server on port $port did not stop in 10 s; killing it" >&2
        kill -KILL "$pid" 2>/dev/null || true
        for _ in $(seq 50); do
            running_pid >/dev/null || break
            sleep 0.1
        done
    fi
    rm -f "$pidfile"
    ;;
status)
    running_pid >/dev/null
    ;;
*)
    usage
    ;;
esac

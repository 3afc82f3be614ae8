#!/usr/bin/env bash
# The one-command demo of fulcrum: an active/standby pair of application
# servers behind conf/haproxy.cfg.
#
#   bash examples/demo.sh [EXTRA FULCRUM FLAGS...]
#
# It builds fulcrum and the examples (release mode), starts two demo
# application servers (examples/demo_backend.rs) on the loopback interface,
#
#   as1: 127.0.0.1:9001 (http) and 127.0.0.1:9443 (stands for https)
#   as2: 127.0.0.1:9002 (http) and 127.0.0.1:9444 (stands for https), the backup
#
# waits until both listen, then runs `fulcrum -f conf/haproxy.cfg` attached
# to this terminal. Then, from another terminal:
#
#   curl http://127.0.0.1:8080/                       # Hello from as1 ...
#   curl http://127.0.0.1:8443/                       # layer 4, to as1 too
#   curl -u admin:admin http://127.0.0.1:8080/pstats  # statistics
#
# Ctrl-C (or SIGTERM to this script) stops fulcrum and the servers. The
# script exits with fulcrum's exit status. The servers' output goes to a
# temporary log directory, printed at start.
#
# Environment: FULCRUM_DEMO_FAIL_AS1=1 starts as1 with --fail-health, so its
# health check fails and the traffic goes to the backup, as2.

set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
target_dir=${CARGO_TARGET_DIR:-target}
backend_bin=$target_dir/release/examples/demo_backend
fulcrum_bin=$target_dir/release/fulcrum
config=conf/haproxy.cfg

backend_pids=()
fulcrum_pid=
logdir=

cleanup() {
    local pid
    if [[ -n $fulcrum_pid ]] && kill -0 "$fulcrum_pid" 2>/dev/null; then
        kill -TERM "$fulcrum_pid" 2>/dev/null || true
        wait "$fulcrum_pid" 2>/dev/null || true
    fi
    for pid in "${backend_pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${backend_pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    backend_pids=()
    if [[ -n $logdir ]]; then
        echo "demo: stopped; the servers' logs are in $logdir" >&2
    fi
}

# On Ctrl-C or SIGTERM: stop fulcrum (it runs as a background job so that
# this script can forward the signal to it), then exit with its status.
on_signal() {
    local status=$1
    trap - INT TERM
    if [[ -n $fulcrum_pid ]] && kill -0 "$fulcrum_pid" 2>/dev/null; then
        kill -TERM "$fulcrum_pid" 2>/dev/null || true
        if wait "$fulcrum_pid"; then status=0; else status=$?; fi
        fulcrum_pid=
    fi
    exit "$status"
}

trap cleanup EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM

echo "demo: building (cargo build --release --examples --bins)..." >&2
cargo build --quiet --release --examples --bins

logdir=$(mktemp -d "${TMPDIR:-/tmp}/fulcrum-demo.XXXXXX")

# start_backend NAME [DEMO_BACKEND ARGS...]: starts one server in the
# background and waits (at most 10 s) until it has printed one
# "listening" line per --listen.
start_backend() {
    local name=$1
    shift
    local log=$logdir/$name.log
    local want=0 arg
    for arg in "$@"; do
        [[ $arg == --listen ]] && want=$((want + 1))
    done
    "$backend_bin" --name "$name" "$@" >"$log" 2>&1 &
    local pid=$!
    backend_pids+=("$pid")
    local tries=0 have
    while :; do
        have=$(grep -c "^demo_backend $name listening on " "$log" || true)
        if ((have >= want)); then
            grep "^demo_backend $name listening on " "$log" | sed 's/^/demo: /' >&2
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "demo: $name exited before listening:" >&2
            sed 's/^/  /' "$log" >&2
            return 1
        fi
        if ((tries >= 100)); then
            echo "demo: $name is not listening after 10 s; its log ($log):" >&2
            sed 's/^/  /' "$log" >&2
            return 1
        fi
        tries=$((tries + 1))
        sleep 0.1
    done
}

as1_flags=()
if [[ ${FULCRUM_DEMO_FAIL_AS1:-0} != 0 ]]; then
    as1_flags+=(--fail-health)
fi
start_backend as1 --listen 127.0.0.1:9001 --listen 127.0.0.1:9443 "${as1_flags[@]}"
start_backend as2 --listen 127.0.0.1:9002 --listen 127.0.0.1:9444

cat >&2 <<EOF
demo: starting $fulcrum_bin -f $config $*
demo:   curl http://127.0.0.1:8080/                       (HTTP, to as1; as2 is the backup)
demo:   curl http://127.0.0.1:8443/                       (TCP passthrough, follows the HTTP checks)
demo:   curl -u admin:admin http://127.0.0.1:8080/pstats  (statistics)
demo: press Ctrl-C to stop
EOF

"$fulcrum_bin" -f "$config" "$@" &
fulcrum_pid=$!
status=0
wait "$fulcrum_pid" || status=$?
fulcrum_pid=
if ((status != 0)); then
    echo "demo: fulcrum exited with status $status" >&2
fi
exit "$status"

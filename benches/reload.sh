#!/usr/bin/env bash
# Reload time of a large configuration: 1,000 backends x 10 servers, and
# what reloads do to the requests in flight.
#
#   bash benches/reload.sh [RELOADS]
#
# Builds fulcrum (release), writes the configuration to a temporary
# directory, starts fulcrum on it, sends SIGHUP RELOADS times (default 20),
# and prints each reload's time from signal handling to the swap (fulcrum
# logs it as "reload done elapsed_ms=N"), then the median and the maximum.
# The servers have no checks; those of be1..be999 get no traffic
# (127.0.0.0/8 addresses). be0's ten servers are one application: a second
# fulcrum answering `http-request return`.
#
# Then the latency of requests during reloads: loadgen paced sends 2,000
# requests/s over 10 keep-alive connections for 5 s without reloads, then
# 5 s with a reload every 250 ms; each phase prints its p50, p99, p99.9 and
# maximum.
set -euo pipefail
cd "$(dirname "$0")/.."
reloads=${1:-20}
cargo build --quiet --release --bin fulcrum --example loadgen
dir=$(mktemp -d)
pid="" app=""
trap 'kill $pid $app 2>/dev/null || true; rm -rf "$dir"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
app_port=$(free_port)
printf 'global\n    nbthread 1\ndefaults\n    mode http\n    timeout client 5s\nfrontend app\n    bind 127.0.0.1:%s\n    http-request return status 200 content-type text/plain string ok\n' "$app_port" > "$dir/app.cfg"
FULCRUM_LOG=warn target/release/fulcrum -f "$dir/app.cfg" 2> "$dir/app.log" &
app=$!
{
    printf 'global\n    nbthread 2\ndefaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n'
    printf 'frontend fe\n    bind 127.0.0.1:%s\n    default_backend be0\n' "$port"
    printf 'backend be0\n'
    for s in $(seq 1 10); do
        printf '    server s%s 127.0.0.1:%s\n' "$s" "$app_port"
    done
    for b in $(seq 1 999); do
        printf 'backend be%s\n' "$b"
        for s in $(seq 1 10); do
            printf '    server s%s 127.%s.%s.%s:8080 weight %s\n' "$s" $((b / 250)) $((b % 250)) "$s" $((1 + s % 3))
        done
    done
} > "$dir/big.cfg"
echo "config: $(wc -l < "$dir/big.cfg") lines, 1000 backends x 10 servers"
FULCRUM_LOG=info target/release/fulcrum -f "$dir/big.cfg" 2> "$dir/log" &
pid=$!
for _ in $(seq 1 200); do grep -q "fulcrum started" "$dir/log" && break; sleep 0.05; done
grep -q "fulcrum started" "$dir/log" || { cat "$dir/log"; exit 1; }
for i in $(seq 1 "$reloads"); do
    before=$(grep -c "reload done" "$dir/log" || true)
    kill -HUP "$pid"
    for _ in $(seq 1 200); do
        [ "$(grep -c "reload done" "$dir/log" || true)" -gt "$before" ] && break
        sleep 0.01
    done
done
grep "reload done" "$dir/log" | sed 's/.*elapsed_ms=//' > "$dir/times"
echo "reload times (ms): $(tr '\n' ' ' < "$dir/times")"
sort -n "$dir/times" | awk '{a[NR]=$1} END {printf "median %s ms, max %s ms over %d reloads\n", a[int((NR+1)/2)], a[NR], NR}'

# Requests during reloads.
paced() { target/release/examples/loadgen paced --connect "127.0.0.1:$port" --rate 2000 --conns 10 --secs 5; }
echo "requests, no reload:        $(paced | grep RESULT)"
before=$(grep -c "reload done" "$dir/log" || true)
paced > "$dir/paced" &
lg=$!
while kill -0 "$lg" 2>/dev/null; do kill -HUP "$pid"; sleep 0.25; done
wait "$lg" || true
echo "requests, reload every 250 ms ($(( $(grep -c "reload done" "$dir/log") - before )) reloads): $(grep RESULT "$dir/paced")"

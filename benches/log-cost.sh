#!/usr/bin/env bash
# What logging every request costs, at an equal offered load: fulcrum and
# HAProxy 2.6 on benches/bench.cfg and benches/bench-log.cfg (the same with
# `option httplog` to a UDP syslog receiver), keep-alive GET / offered at
# RATE requests/s (default 20000) by `loadgen paced` for SECS seconds
# (default 10). Prints, per proxy and configuration, the rate achieved,
# latency and the proxy's CPU seconds (utime+stime from /proc).
#
#   bash benches/log-cost.sh [RATE] [SECS]
#
# Layout as compare.sh: the proxy pinned to core 0; nginx (the backend,
# 127.0.0.1:19101), socat (the syslog receiver, 127.0.0.1:19300) and the
# load generator pinned to core 1.
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${1:-20000}
SECS=${2:-10}
T=$(mktemp -d)
trap 'pkill -f "UDP-RECV:19300" 2>/dev/null || true; [ -f "$T/n.pid" ] && kill "$(cat "$T/n.pid")" 2>/dev/null; rm -rf "$T"' EXIT
for tool in nginx socat haproxy; do
    command -v $tool >/dev/null || { echo "log-cost.sh: $tool is needed" >&2; exit 1; }
done
cargo build --release --quiet --bin fulcrum --example loadgen
LG=$PWD/target/release/examples/loadgen
# bench.cfg's TLS listens need certificates: throwaway ones.
o="req -x509 -nodes -days 2 -subj /CN=bench.local -keyout $T/k -out $T/c"
openssl $o -newkey ec -pkeyopt ec_paramgen_curve:P-256 2>/dev/null && cat "$T/c" "$T/k" >"$T/ecdsa.pem"
openssl $o -newkey rsa:2048 2>/dev/null && cat "$T/c" "$T/k" >"$T/rsa.pem"
export BENCH_CRT_DIR=$T
cat >"$T/n.conf" <<NGINX
worker_processes 1;
pid $T/n.pid;
error_log $T/nginx.log;
events { worker_connections 1024; }
http { access_log off; server { listen 127.0.0.1:19101; location / { return 200 "ok\n"; } } }
NGINX
taskset -c 1 nginx -c "$T/n.conf"
(taskset -c 1 socat -u UDP-RECV:19300,rcvbuf=4194304 /dev/null &)
sleep 0.5
tick=$(getconf CLK_TCK)
cpu() { awk -v t="$tick" '{print ($14+$15)/t}' "/proc/$1/stat"; }
echo "offered $RATE req/s for $SECS s, keep-alive GET /, 20 connections"
for proxy in fulcrum haproxy; do
    for cfg in bench.cfg bench-log.cfg; do
        case $proxy in
            fulcrum) taskset -c 0 ./target/release/fulcrum -f "benches/$cfg" >/dev/null 2>&1 & ;;
            haproxy) taskset -c 0 haproxy -db -f "benches/$cfg" >/dev/null 2>&1 & ;;
        esac
        pid=$!
        for _ in $(seq 100); do
            (exec 3<>/dev/tcp/127.0.0.1/19201) 2>/dev/null && break
            sleep 0.05
        done
        taskset -c 1 "$LG" paced --connect 127.0.0.1:19201 --rate "$RATE" --conns 20 --secs 2 >/dev/null
        c0=$(cpu $pid)
        out=$(taskset -c 1 "$LG" paced --connect 127.0.0.1:19201 --rate "$RATE" --conns 20 --secs "$SECS")
        c1=$(cpu $pid)
        echo "$proxy $cfg ${out#RESULT } cpu_s=$(awk -v a="$c0" -v b="$c1" 'BEGIN {printf "%.2f", b - a}')"
        kill $pid
        wait $pid 2>/dev/null || true
    done
done

#!/usr/bin/env bash
# fulcrum's end-to-end benchmark: fulcrum against HAProxy 2.6 and nginx, and
# the backend reached directly (the ceiling), on this machine's loopback.
#
#   bash benches/compare.sh            # full run: 2 rounds of 10 s measurements (~9 min)
#   bash benches/compare.sh --quick    # smoke run: 1 round of 3 s measurements (~1.5 min)
#
# Options:
#   --quick              1 round, 3 s per measurement, 1,000 idle connections
#   --runs N             rounds (default 2; each round runs every proxy: A B A B ...)
#   --duration S         seconds per measurement (default 10)
#   --idle-conns N       idle keep-alive client connections (default 20000)
#   --nbthread N         threads for fulcrum and HAProxy (worker processes for
#                        nginx), pinned to cores 0..N-1 (default 1)
#   --workloads "W..."   a subset of: ka close 1m tcp idle idle-tcp tls-hs-ecdsa tls-hs-rsa
#                        tls-resume tls-ka tls-1m (default: ka close 1m tcp idle idle-tcp;
#                        "tls" stands for the five TLS ones, "all" for all eleven)
#   --proxies "P..."     a subset of: direct fulcrum haproxy nginx (default all)
#   --profile            also perf-record fulcrum and HAProxy under the keep-alive
#                        load (not measured), reports in benches/results/profile-*.txt;
#                        `--runs 0 --profile` profiles only
#   --quiet-wait S       how long to wait for a busy machine to calm down before a
#                        measurement (default 300); a measurement taken anyway is
#                        flagged "noisy" in the table
#   --retries N          take a measurement again, up to N times (default 2), when
#                        another process used the CPU during it (more than 3% of a
#                        core for keep-alive, 15% for the other workloads)
#   --no-build           use the fulcrum and loadgen binaries already built
#   --keep               keep the temporary directory (configs, logs, raw outputs)
#   --out NAME           save the report as benches/results/NAME.md and NAME.csv
#                        (default latest)
#   --config FILE        the configuration fulcrum and HAProxy read (default
#                        benches/bench.cfg; benches/bench-rules.cfg adds a
#                        50-rule frontend with the same ports)
#
# What it does:
#   - installs what is missing (Debian packages haproxy, nginx-light,
#     libnginx-mod-stream, wrk; linux-perf for --profile), with apt-get as
#     root or through sudo; it never touches the system's nginx/haproxy
#     services: every server runs from its own config in a temporary dir;
#   - builds fulcrum and examples/loadgen.rs in release mode;
#   - starts the backends on core 1: nginx (worker_processes 1) serving "ok\n"
#     on / and 1 MiB on /1m at 127.0.0.1:19101, and `loadgen source` (a TCP
#     stream) at 127.0.0.1:19102;
#   - for each round, workload and proxy, starts a fresh proxy pinned to
#     core 0 with one thread (fulcrum and HAProxy read the same
#     benches/bench.cfg; nginx gets a generated config with
#     worker_processes 1), checks its answers once, warms it up, measures,
#     and stops it. The load generator (wrk, or loadgen) runs on core 1.
#   - workloads:
#       ka     wrk -t1 -c50, keep-alive, GET / ("ok\n"): req/s, p50, p99
#       close  wrk -t1 -c50 -H "Connection: close": a new connection per
#              request (checked: kernel PassiveOpens minus the backend's
#              accepts, per request)
#       1m     wrk -t1 -c10, GET /1m: MB/s
#       tcp    loadgen bulk, 4 connections downloading through `mode tcp`: MB/s
#       idle   loadgen idle: N keep-alive connections, one request each, then
#              held open: proxy RSS per connection
#     TLS workloads (fulcrum and HAProxy only: rustls vs OpenSSL; TLS 1.3,
#     X25519; the client offers AES-256-GCM first, as OpenSSL does):
#       tls-hs-ecdsa  loadgen tls-hs, 16 connections at a time, each a full
#                     handshake (no resumption) with the ECDSA P-256
#                     certificate, `GET /` with Connection: close, the answer,
#                     the proxy's close: handshakes/s, CPU per 1,000
#       tls-hs-rsa    the same with the RSA 2048 certificate
#       tls-resume    the same (ECDSA) with --resume: one rustls session cache
#                     per client thread, TLS 1.3 tickets; the table says how
#                     many handshakes were resumed (still an X25519 exchange:
#                     rustls resumes with psk_dhe_ke only)
#       tls-ka        wrk -t1 -c50 https://.../ (OpenSSL in wrk), keep-alive
#       tls-1m        wrk -t1 -c10 https://.../1m: MB/s, CPU per GiB
#     They are not in the default set: ~5 more minutes at the default
#     rounds and duration. The certificates (ecdsa.pem, rsa.pem: a
#     self-signed chain and key each, CN bench.local) are made with
#     `openssl req -x509` in the temporary directory, which bench.cfg reads
#     as "${BENCH_CRT_DIR}"; no key material is kept.
#   - CPU: the proxy's utime+stime from /proc/PID/stat (fields 14+15, the
#     whole process tree for nginx) before and after each measurement;
#   - prints one markdown table (medians over the rounds, ratios to HAProxy)
#     and saves it to benches/results/latest.md (--out), the raw figures to
#     benches/results/latest.csv.
#
# Ports used on 127.0.0.1: 19101 19102 19201 19202 19203 19204 19205 19206 (they
# must be free).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

RUNS=2
DUR=10
IDLE_CONNS=20000
NBTHREAD=1
WORKLOADS="ka close 1m tcp idle idle-tcp"
PROXIES="direct fulcrum haproxy nginx"
PROFILE=0
QUIET_WAIT=300
RETRIES=2
BUILD=1
KEEP=0
CFG_ARG=""
OUT=latest
ARGS="$*"

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
    case $1 in
        --quick) RUNS=1; DUR=3; IDLE_CONNS=1000 ;;
        --runs) RUNS=$2; shift ;;
        --duration) DUR=$2; shift ;;
        --idle-conns) IDLE_CONNS=$2; shift ;;
        --nbthread) NBTHREAD=$2; shift ;;
        --workloads) WORKLOADS=$2; shift ;;
        --proxies) PROXIES=$2; shift ;;
        --profile) PROFILE=1 ;;
        --quiet-wait) QUIET_WAIT=$2; shift ;;
        --retries) RETRIES=$2; shift ;;
        --no-build) BUILD=0 ;;
        --keep) KEEP=1 ;;
        --config) CFG_ARG=$2; shift ;;
        --out) OUT=$2; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "compare.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
    esac
    shift
done

BACKEND_HTTP=19101
BACKEND_TCP=19102
PROXY_HTTP=19201
PROXY_TCP=19202
NGINX_HTTP=19203
NGINX_TCP=19204
PROXY_TLS_ECDSA=19205
PROXY_TLS_RSA=19206
PROXY_TCP_HTTP=19207
TLS_WORKLOADS="tls-hs-ecdsa tls-hs-rsa tls-resume tls-ka tls-1m"
wl=""
for w in $WORKLOADS; do
    case $w in
        tls) wl="$wl $TLS_WORKLOADS" ;;
        all) wl="$wl ka close 1m tcp idle idle-tcp $TLS_WORKLOADS" ;;
        ka|close|1m|tcp|idle|idle-tcp|tls-hs-ecdsa|tls-hs-rsa|tls-resume|tls-ka|tls-1m) wl="$wl $w" ;;
        *) echo "compare.sh: unknown workload '$w' (try --help)" >&2; exit 2 ;;
    esac
done
WORKLOADS=${wl# }
WANT_TLS=0
case " $WORKLOADS " in *" tls-"*) WANT_TLS=1 ;; esac
case $OUT in ""|*/*) echo "compare.sh: --out takes a file name without a directory" >&2; exit 2 ;; esac
CFG=${CFG_ARG:-$ROOT/benches/bench.cfg}
case $CFG in /*) ;; *) CFG=$ROOT/$CFG ;; esac
RESULTS=$ROOT/benches/results
CLK_TCK=$(getconf CLK_TCK)

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'compare.sh: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- installs

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
need=()
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
[ -e /usr/lib/nginx/modules/ngx_stream_module.so ] || need+=(libnginx-mod-stream)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v taskset >/dev/null 2>&1 || need+=(util-linux)
command -v pgrep >/dev/null 2>&1 || need+=(procps)
if [ "$PROFILE" = 1 ] && ! command -v perf >/dev/null 2>&1; then need+=(linux-perf); fi
if [ ${#need[@]} -gt 0 ]; then
    log "installing: ${need[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
export PATH=$PATH:/usr/sbin:/sbin
STREAM_MODULE=/usr/lib/nginx/modules/ngx_stream_module.so
[ -e "$STREAM_MODULE" ] || log "nginx has no stream module: no nginx row for TCP bulk"

# ---------------------------------------------------------------- build

TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
if [ "$BUILD" = 1 ]; then
    log "cargo build --release --bin fulcrum --example loadgen"
    cargo build --release --quiet --bin fulcrum --example loadgen
fi
FULCRUM=$TARGET_DIR/release/fulcrum
LOADGEN=$TARGET_DIR/release/examples/loadgen
[ -x "$FULCRUM" ] || die "$FULCRUM is missing (drop --no-build)"
[ -x "$LOADGEN" ] || die "$LOADGEN is missing (drop --no-build)"

# ---------------------------------------------------------------- limits, ports

# HAProxy wants about 2 x maxconn descriptors (it will not start with
# fewer); the idle workload holds IDLE_CONNS client connections in loadgen,
# the proxy and (for HAProxy) as many server connections in the backend.
# bench.cfg asks maxconn 25000, room for 20,000 idle clients; under a
# lower open-file limit both are lowered to fit, and the report says so.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
FDS=$(ulimit -n)
CFG_MAXCONN=$(awk '$1 == "maxconn" {print $2; exit}' "$CFG")
MAXCONN=${CFG_MAXCONN:-25000}
if [ "$FDS" != unlimited ] && [ "$MAXCONN" -gt $(( (FDS - 500) / 2 )) ]; then
    MAXCONN=$(( (FDS - 500) / 2 ))
    log "maxconn lowered to $MAXCONN by the open-file limit $FDS (hard $(ulimit -Hn)): HAProxy needs 2 descriptors per connection"
fi
[ "$MAXCONN" -ge 2000 ] || die "open-file limit is $FDS: too low for the benchmark (raise it, e.g. ulimit -Hn 65536 as root)"
NGINX_FILES=$FDS
[ "$FDS" = unlimited ] && NGINX_FILES=60000
if [ "$IDLE_CONNS" -gt $(( MAXCONN - 500 )) ]; then
    IDLE_CONNS=$(( MAXCONN - 500 ))
    log "idle connections lowered to $IDLE_CONNS (maxconn $MAXCONN)"
fi
case $NBTHREAD in ''|*[!0-9]*|0) die "--nbthread takes a positive number" ;; esac
[ "$NBTHREAD" -le "$(nproc)" ] || die "--nbthread $NBTHREAD: this machine has $(nproc) cores"
PROXY_CORES=0
[ "$NBTHREAD" -gt 1 ] && PROXY_CORES="0-$(( NBTHREAD - 1 ))"

port_busy() { timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
for p in $BACKEND_HTTP $BACKEND_TCP $PROXY_HTTP $PROXY_TCP $NGINX_HTTP $NGINX_TCP $PROXY_TLS_ECDSA $PROXY_TLS_RSA $PROXY_TCP_HTTP; do
    port_busy "$p" && die "127.0.0.1:$p is in use: stop what listens there first"
done

# ---------------------------------------------------------------- processes

T=$(mktemp -d /tmp/fulcrum-bench.XXXXXX)
chmod 755 "$T"   # nginx's workers run as nobody and read the files in here
# The configuration the proxies read: CFG itself, or a copy with nbthread N
# and the maxconn the open-file limit allows.
RUN_CFG=$CFG
if [ "$NBTHREAD" != 1 ] || [ "$MAXCONN" != "${CFG_MAXCONN:-}" ]; then
    RUN_CFG=$T/${CFG##*/}
    sed -e "s/^\([[:space:]]*nbthread\)[[:space:]].*/\1 $NBTHREAD/" \
        -e "s/^\([[:space:]]*maxconn\)[[:space:]].*/\1 $MAXCONN/" "$CFG" >"$RUN_CFG"
    grep -q "nbthread $NBTHREAD" "$RUN_CFG" || die "${CFG##*/} has no nbthread line to change"
fi
PIDS=()          # everything started in the background, killed on exit
KEEP_T=$KEEP

stop_pid() {
    local pid=$1
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$? pid
    for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
    if [ $rc -ne 0 ] || [ "$KEEP_T" = 1 ]; then
        echo "compare.sh: logs kept in $T" >&2
    else
        rm -rf "$T"
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_port() { # PORT [SECONDS]
    for _ in $(seq $(( ${2:-10} * 10 ))); do
        port_busy "$1" && return 0
        sleep 0.1
    done
    return 1
}

tree() { # a pid and its children
    echo "$1"
    pgrep -P "$1" 2>/dev/null || true
}

cpu_ticks() { # utime+stime of the process trees of the given pids
    local t=0 p s rest
    for p in $(for q in "$@"; do tree "$q"; done); do
        s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
        rest=${s##*) }
        # shellcheck disable=SC2086
        set -- $rest
        t=$(( t + ${12} + ${13} ))
    done
    echo $t
}

rss_kib() { # VmRSS of a process tree
    local t=0 p v
    for p in $(tree "$1"); do
        v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null) || continue
        t=$(( t + ${v:-0} ))
    done
    echo $t
}

machine_ticks() { # user+nice+system+irq+softirq of all CPUs (what processes are charged)
    awk '/^cpu / {print $2+$3+$4+$7+$8; exit}' /proc/stat
}

# The CPU of this shell's reaped children (wrk, loadgen: a child's own
# children are added to it when it is reaped), in ticks. `times` must run in
# this shell, not in a $(...) subshell: snap_children writes it to a file.
snap_children() { times >"$T/times.txt"; }
children_ticks() {
    awk -v hz="$CLK_TCK" 'NR == 2 {
        t = 0
        for (i = 1; i <= NF; i++) { s = $i; sub(/s$/, "", s); split(s, m, "m"); t += m[1] * 60 + m[2] }
        printf "%d\n", t * hz }' "$T/times.txt"
}

busy_pct() { # whole-machine busy percent over half a second
    local a b
    a=$(awk '/^cpu / {print $2+$3+$4+$6+$7+$8, $2+$3+$4+$5+$6+$7+$8; exit}' /proc/stat)
    sleep 0.5
    b=$(awk '/^cpu / {print $2+$3+$4+$6+$7+$8, $2+$3+$4+$5+$6+$7+$8; exit}' /proc/stat)
    awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " ");
        d = y[2] - x[2]; if (d <= 0) { print 0; exit } printf "%d\n", (y[1] - x[1]) * 100 / d }'
}

NOISY=0
wait_quiet() { # waits (bounded) until the machine is idle; sets NOISY=1 if it never is
    local start=$SECONDS b
    NOISY=0
    while :; do
        b=$(busy_pct)
        [ "$b" -le 5 ] && return 0
        if [ $(( SECONDS - start )) -ge "$QUIET_WAIT" ]; then
            NOISY=1
            log "machine still busy (${b}%) after ${QUIET_WAIT}s: measuring anyway, flagged noisy"
            { echo "--- busy ${b}% at $(date)"; top -bn1 | head -15; } >>"$T/noise.log" 2>&1 || true
            return 0
        fi
        [ $(( SECONDS - start )) -eq 0 ] && log "machine busy (${b}%): waiting up to ${QUIET_WAIT}s"
        sleep 2
    done
}

# ---------------------------------------------------------------- backends

# The TLS certificates bench.cfg names as "${BENCH_CRT_DIR}/ecdsa.pem" and
# rsa.pem: self-signed, the chain then the key in one PEM, as HAProxy reads it.
mkdir -p "$T/crt"
mkcert() { # NAME OPENSSL-NEWKEY-ARGS...
    local name=$1
    shift
    openssl req -x509 -nodes -days 30 -subj /CN=bench.local -addext subjectAltName=DNS:bench.local \
        "$@" -keyout "$T/crt/$name.key" -out "$T/crt/$name.crt" >>"$T/openssl.log" 2>&1 \
        || die "openssl could not make the $name certificate: $(tail -3 "$T/openssl.log")"
    cat "$T/crt/$name.crt" "$T/crt/$name.key" >"$T/crt/$name.pem"
    rm -f "$T/crt/$name.key"
}
mkcert ecdsa -newkey ec -pkeyopt ec_paramgen_curve:P-256
mkcert rsa -newkey rsa:2048
chmod 600 "$T"/crt/*.pem
export BENCH_CRT_DIR=$T/crt

mkdir -p "$T/www" "$T/tmp"
"$LOADGEN" genfile --path "$T/www/1m.bin" --size 1048576
chmod -R a+rX "$T/www"

nginx_common() { # the http-block settings both nginx instances share
    cat <<EOF
    access_log off;
    tcp_nodelay on;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    client_body_temp_path $T/tmp/body;
    proxy_temp_path $T/tmp/proxy;
    fastcgi_temp_path $T/tmp/fastcgi;
    uwsgi_temp_path $T/tmp/uwsgi;
    scgi_temp_path $T/tmp/scgi;
EOF
}

cat >"$T/backend.conf" <<EOF
worker_processes 1;
worker_rlimit_nofile $NGINX_FILES;
daemon off;
pid $T/backend.pid;
error_log $T/backend-error.log warn;
events { worker_connections $(( NGINX_FILES - 1000 )); }
http {
$(nginx_common)
    sendfile on;
    tcp_nopush on;
    default_type text/plain;
    server {
        listen 127.0.0.1:$BACKEND_HTTP reuseport backlog=4096;
        root $T/www;
        location = / { return 200 "ok\n"; }
        location = /1m { default_type application/octet-stream; alias $T/www/1m.bin; }
        location = /_status { stub_status; }
        location / { return 404; }
    }
}
EOF

{
    [ -e "$STREAM_MODULE" ] && echo "load_module $STREAM_MODULE;"
    cat <<EOF
worker_processes $NBTHREAD;
worker_rlimit_nofile $NGINX_FILES;
daemon off;
pid $T/nginx-proxy.pid;
error_log $T/nginx-proxy-error.log warn;
events { worker_connections $(( NGINX_FILES - 1000 )); }
http {
$(nginx_common)
    upstream backend {
        server 127.0.0.1:$BACKEND_HTTP;
        keepalive 64;
        keepalive_requests 1000000;
        keepalive_timeout 120s;
    }
    server {
        listen 127.0.0.1:$NGINX_HTTP backlog=4096;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffer_size 16k;
            proxy_buffers 8 16k;
            proxy_max_temp_file_size 0;
        }
    }
}
EOF
    [ -e "$STREAM_MODULE" ] && cat <<EOF
stream {
    server {
        listen 127.0.0.1:$NGINX_TCP backlog=4096;
        proxy_pass 127.0.0.1:$BACKEND_TCP;
        proxy_timeout 60s;
    }
}
EOF
} >"$T/nginx-proxy.conf"

cat >"$T/report.lua" <<'EOF'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT requests=%d bytes=%d duration_us=%d p50_us=%d p99_us=%d errors=%d\n",
    summary.requests, summary.bytes, summary.duration,
    latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout + e.status))
  io.write(string.format("ERRORS connect=%d read=%d write=%d timeout=%d status=%d\n",
    e.connect, e.read, e.write, e.timeout, e.status))
end
EOF

log "starting the backends on core 1 (logs in $T)"
taskset -c 1 nginx -p "$T/" -e "$T/backend-error.log" -c "$T/backend.conf" >"$T/backend.log" 2>&1 &
BACKEND_PID=$!
PIDS+=("$BACKEND_PID")
taskset -c 1 "$LOADGEN" source --listen "127.0.0.1:$BACKEND_TCP" >"$T/source.log" 2>&1 &
SOURCE_PID=$!
PIDS+=("$SOURCE_PID")
wait_port $BACKEND_HTTP || die "backend nginx did not start: $(cat "$T/backend-error.log" "$T/backend.log")"
wait_port $BACKEND_TCP || die "loadgen source did not start: $(cat "$T/source.log")"

# ---------------------------------------------------------------- proxies

PROXY_PID=""
start_proxy() { # NAME: starts it on core 0, waits until it listens
    local name=$1
    case $name in
        direct) PROXY_PID=""; return 0 ;;
        fulcrum) FULCRUM_LOG=warn taskset -c "$PROXY_CORES" "$FULCRUM" -f "$RUN_CFG" >>"$T/fulcrum.log" 2>&1 & ;;
        haproxy) taskset -c "$PROXY_CORES" haproxy -db -f "$RUN_CFG" >>"$T/haproxy.log" 2>&1 & ;;
        nginx) taskset -c "$PROXY_CORES" nginx -p "$T/" -e "$T/nginx-proxy-error.log" -c "$T/nginx-proxy.conf" >>"$T/nginx.log" 2>&1 & ;;
    esac
    PROXY_PID=$!
    PIDS+=("$PROXY_PID")
    if ! wait_port "$(http_port "$name")" 10; then
        tail -5 "$T/$name.log" >&2 || true
        die "$name did not start listening within 10 s"
    fi
    if [ "$name" != nginx ] || [ -e "$STREAM_MODULE" ]; then
        wait_port "$(tcp_port "$name")" 10 || die "$name does not listen on its tcp port"
    fi
    if [ "$WANT_TLS" = 1 ] && tls_proxy "$name"; then
        wait_port $PROXY_TLS_ECDSA 10 && wait_port $PROXY_TLS_RSA 10 \
            || die "$name does not listen on $PROXY_TLS_ECDSA and $PROXY_TLS_RSA (TLS): does ${CFG##*/} have the bench_tls_* listens?"
    fi
}

tls_proxy() { [ "$1" = fulcrum ] || [ "$1" = haproxy ]; } # the proxies the TLS and idle-tcp workloads run

stop_proxy() {
    [ -n "$PROXY_PID" ] || return 0
    stop_pid "$PROXY_PID"
    # A proxy that died on its own before we stopped it is worth a note.
    PROXY_PID=""
}

proxy_alive() { [ -z "$PROXY_PID" ] || kill -0 "$PROXY_PID" 2>/dev/null; }

http_port() { case $1 in direct) echo $BACKEND_HTTP ;; nginx) echo $NGINX_HTTP ;; *) echo $PROXY_HTTP ;; esac; }
tcp_port() { case $1 in direct) echo $BACKEND_TCP ;; nginx) echo $NGINX_TCP ;; *) echo $PROXY_TCP ;; esac; }

passive_opens() { awk '/^Tcp:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "PassiveOpens") c = i; h = 1 } else print $c }' /proc/net/snmp; }
backend_accepts() { "$LOADGEN" get --connect "127.0.0.1:$BACKEND_HTTP" --path /_status 2>/dev/null | awk 'NR == 3 {print $1}'; }

field() { # KEY LINE: the value of KEY=value in LINE
    local k=$1 l=$2
    sed -n "s/.*\b$k=\([0-9-]*\).*/\1/p" <<<"$l"
}

CSV=$T/results.csv
echo "round,workload,proxy,requests,bytes,duration_us,p50_us,p99_us,cpu_ticks,errors,client_conns,server_conns,rss0_kib,rss1_kib,idle_conns,foreign_ticks,noisy,note,resumed" >"$CSV"
row() { # round workload proxy requests bytes duration p50 p99 cpu errors conns sconns rss0 rss1 idle foreign noisy note [resumed]
    local IFS=,
    [ $# -ge 19 ] || set -- "$@" -1
    echo "$*" >>"$CSV"
}

CHECKED=" "
check_proxy() { # NAME: correctness checks, once per proxy and run
    local name=$1 out rc tp
    case $CHECKED in *" $name "*) return 0 ;; esac
    CHECKED="$CHECKED$name "
    set +e
    out=$("$LOADGEN" check --connect "127.0.0.1:$(http_port "$name")" 2>&1)
    rc=$?
    if [ "$name" != nginx ] || [ -e "$STREAM_MODULE" ]; then
        out="$out"$'\n'$("$LOADGEN" check-tcp --connect "127.0.0.1:$(tcp_port "$name")" 2>&1)
        rc=$(( rc + $? ))
    fi
    if [ "$WANT_TLS" = 1 ] && tls_proxy "$name"; then
        for tp in $PROXY_TLS_ECDSA $PROXY_TLS_RSA; do
            out="$out"$'\n'$("$LOADGEN" tls-check --connect "127.0.0.1:$tp" 2>&1)
            rc=$(( rc + $? ))
        done
    fi
    set -e
    # shellcheck disable=SC2001
    sed "s/^/  $name: /" <<<"$out" >>"$T/checks.log"
    if [ $rc -ne 0 ]; then
        log "$name: correctness checks FAILED:"
        grep -v ': ok' <<<"$out" | sed 's/^/     /' >&2
        CHECK_NOTES+=("$name: $(grep -v ': ok' <<<"$out" | tr '\n,' ' ;')")
    fi
    grep -q 'ok (' <<<"$out" && CHECK_NOTES+=("$name: $(grep 'ok (' <<<"$out" | tr '\n,' ' ;')")
    return 0
}
CHECK_NOTES=()

# One measurement. Sets the CSV row.
measure() { # ROUND WORKLOAD PROXY
    local r=$1 w=$2 p=$3 hp tp out res c0 c1 k0 k1 m0 m1 po0 po1 a0 a1 conns=-1 sconns=-1 note="" foreign
    hp=$(http_port "$p")
    tp=$(tcp_port "$p")
    if [ "$w" = tcp ] && [ "$p" = nginx ] && [ ! -e "$STREAM_MODULE" ]; then
        row "$r" "$w" "$p" -1 -1 -1 -1 -1 -1 0 -1 -1 -1 -1 -1 -1 0 n/a
        return 0
    fi
    if { [ "$w" = idle ] || [ "$w" = idle-tcp ]; } && [ "$p" = direct ]; then
        return 0
    fi
    start_proxy "$p"
    check_proxy "$p"
    # The load: wrk (URL, connections, options), or loadgen tls-hs (its options).
    local url="http://127.0.0.1:$hp/" wconns=50 extra=() tool=wrk hs=()
    case $w in
        close) extra=(-H "Connection: close") ;;
        1m) url="http://127.0.0.1:$hp/1m"; wconns=10 ;;
        tls-ka) url="https://127.0.0.1:$PROXY_TLS_ECDSA/" ;;
        tls-1m) url="https://127.0.0.1:$PROXY_TLS_ECDSA/1m"; wconns=10 ;;
        tls-hs-ecdsa) tool=loadgen; hs=(--connect "127.0.0.1:$PROXY_TLS_ECDSA" --conns 16) ;;
        tls-hs-rsa) tool=loadgen; hs=(--connect "127.0.0.1:$PROXY_TLS_RSA" --conns 16) ;;
        tls-resume) tool=loadgen; hs=(--connect "127.0.0.1:$PROXY_TLS_ECDSA" --conns 16 --resume) ;;
    esac
    local mine=("$BACKEND_PID" "$SOURCE_PID")
    [ -n "$PROXY_PID" ] && mine+=("$PROXY_PID")
    case $w in
    ka|close|1m|tls-*)
        if [ $tool = wrk ]; then
            taskset -c 1 timeout 30 wrk -t1 -c$wconns -d1s "${extra[@]}" "$url" >/dev/null 2>&1 || true
        else
            taskset -c 1 timeout 30 "$LOADGEN" tls-hs "${hs[@]}" --secs 1 >/dev/null 2>&1 || true
        fi
        wait_quiet
        po0=$(passive_opens); a0=$(backend_accepts)
        c0=$(cpu_ticks "${PROXY_PID:-$BACKEND_PID}"); k0=$(cpu_ticks "${mine[@]}"); snap_children; h0=$(children_ticks); m0=$(machine_ticks)
        if [ $tool = wrk ]; then
            out=$(taskset -c 1 timeout $(( DUR + 30 )) wrk -t1 -c$wconns -d"${DUR}s" --latency -s "$T/report.lua" "${extra[@]}" "$url" 2>&1) || note="wrk exited $?"
        else
            out=$(taskset -c 1 timeout $(( DUR + 30 )) "$LOADGEN" tls-hs "${hs[@]}" --secs "$DUR" 2>&1) || note="loadgen tls-hs exited $?"
        fi
        m1=$(machine_ticks); snap_children; h1=$(children_ticks); k1=$(cpu_ticks "${mine[@]}"); c1=$(cpu_ticks "${PROXY_PID:-$BACKEND_PID}")
        a1=$(backend_accepts); po1=$(passive_opens)
        echo "--- round $r $w $p"$'\n'"$out" >>"$T/$tool.log"
        res=$(grep '^RESULT' <<<"$out" || true)
        [ -n "$res" ] || { note="$note $tool printed no result"; res="RESULT requests=0 bytes=0 duration_us=1 p50_us=0 p99_us=0 errors=0"; }
        # Client connections: all passive opens less the backend's accepts (the
        # proxy's own connections; -1 for the status query inside the window).
        # Direct, the backend's accepts are the client's connections.
        if [ -n "$a0" ] && [ -n "$a1" ]; then
            if [ "$p" = direct ]; then
                conns=$(( a1 - a0 - 1 ))
            else
                conns=$(( po1 - po0 - (a1 - a0) - 1 ))
                sconns=$(( a1 - a0 - 1 ))
            fi
        fi
        local errs
        errs=$(field errors "$res")
        if [ "$errs" -gt 0 ]; then
            if [ $tool = wrk ]; then
                note="$note wrk errors: $(grep '^ERRORS' <<<"$out" | cut -d' ' -f2- | tr ' ' ' ')"
            else
                note="$note $(grep 'failed, the first' <<<"$out" | head -1 | tr ',' ';')"
            fi
        fi
        foreign=$(( (m1 - m0) - (k1 - k0) - (h1 - h0) ))
        ;;
    tcp)
        wait_quiet
        c0=$(cpu_ticks "${PROXY_PID:-$SOURCE_PID}"); k0=$(cpu_ticks "${mine[@]}"); snap_children; h0=$(children_ticks); m0=$(machine_ticks)
        out=$(taskset -c 1 timeout $(( DUR + 30 )) "$LOADGEN" bulk --connect "127.0.0.1:$tp" --secs "$DUR" --conns 4 2>&1) || note="loadgen bulk exited $?"
        m1=$(machine_ticks); snap_children; h1=$(children_ticks); k1=$(cpu_ticks "${mine[@]}"); c1=$(cpu_ticks "${PROXY_PID:-$SOURCE_PID}")
        echo "--- round $r $w $p"$'\n'"$out" >>"$T/bulk.log"
        res=$(grep '^RESULT' <<<"$out" || echo "RESULT bytes=0 duration_us=1 errors=1")
        res="$res requests=0 p50_us=-1 p99_us=-1"
        [ "$(field errors "$res")" -gt 0 ] && note="$note a bulk connection failed early"
        foreign=$(( (m1 - m0) - (k1 - k0) - (h1 - h0) ))
        ;;
    idle|idle-tcp)
        # idle-tcp: the same clients through a mode tcp listener in front of
        # the HTTP backend (fulcrum and HAProxy only): a session that
        # carried one exchange and then stays quiet.
        [ "$w" = idle-tcp ] && hp=$PROXY_TCP_HTTP
        "$LOADGEN" get --connect "127.0.0.1:$hp" --path / >/dev/null 2>&1 || note="warm-up request failed"
        sleep 0.5
        wait_quiet
        local rss0 rss1 ready=""
        rss0=$(rss_kib "$PROXY_PID")
        c0=$(cpu_ticks "$PROXY_PID")
        rm -f "$T/idle.release"
        taskset -c 1 "$LOADGEN" idle --connect "127.0.0.1:$hp" --conns "$IDLE_CONNS" --hold 180 --release "$T/idle.release" >"$T/idle.out" 2>"$T/idle.err" </dev/null &
        local idle_pid=$!
        PIDS+=("$idle_pid")
        for _ in $(seq 1200); do
            ready=$(grep '^READY' "$T/idle.out" 2>/dev/null || true)
            [ -n "$ready" ] && break
            kill -0 "$idle_pid" 2>/dev/null || break
            sleep 0.1
        done
        sleep 1
        rss1=$(rss_kib "$PROXY_PID")
        c1=$(cpu_ticks "$PROXY_PID")
        # Let the client go; it says how many connections the proxy closed meanwhile.
        touch "$T/idle.release"
        for _ in $(seq 100); do
            kill -0 "$idle_pid" 2>/dev/null || break
            sleep 0.1
        done
        stop_pid "$idle_pid"
        local held
        held=$(grep '^HELD' "$T/idle.out" || true)
        [ -n "$held" ] && [ "$(field closed_by_peer "$held")" -gt 0 ] && note="$note the proxy closed $(field closed_by_peer "$held") idle connections"
        if [ -z "$ready" ]; then
            note="$note idle client not ready in 120 s: $(head -c 200 "$T/idle.err" | tr '\n,' ' ;')"
            ready="READY conns=0 ok=0 failed=$IDLE_CONNS"
        fi
        [ "$(field failed "$ready")" -gt 0 ] && note="$note $(field failed "$ready") idle connections failed: $(head -c 200 "$T/idle.err" | tr '\n,' ' ;')"
        echo "--- round $r $w $p rss0=$rss0 rss1=$rss1 $ready"$'\n'"$(cat "$T/idle.err")" >>"$T/idle.log"
        proxy_alive || note="$note proxy died"
        row "$r" "$w" "$p" 0 0 1 -1 -1 $(( c1 - c0 )) "$(field failed "$ready")" -1 -1 "$rss0" "$rss1" "$(field ok "$ready")" 0 "$NOISY" "${note# }"
        stop_proxy
        return 0
        ;;
    esac
    local cpu=$(( c1 - c0 ))
    [ -z "$PROXY_PID" ] && cpu=-1   # direct: no proxy
    proxy_alive || note="$note proxy died"
    # "Foreign" CPU: the machine's busy time (user, nice, system, irq, softirq)
    # less what the proxy, the backends and this script's children (wrk,
    # loadgen) were charged. Kernel work charged to no process (softirqs on
    # an idle core) makes about 1% of a core under keep-alive load and up to
    # ~9% with new connections or large bodies. Above 3% (keep-alive: its
    # p99 suffers from any neighbour) or 15% (the others) of a core, another
    # process ran: the measurement is flagged noisy.
    local noisy=$NOISY limit=15
    case $w in ka|tls-ka) limit=3 ;; esac
    [ $(( foreign * 1000000 * 100 )) -gt $(( CLK_TCK * $(field duration_us "$res") * limit )) ] && noisy=1 && note="$note foreign CPU $(( foreign * 1000 / CLK_TCK )) ms"
    row "$r" "$w" "$p" "$(field requests "$res")" "$(field bytes "$res")" "$(field duration_us "$res")" \
        "$(field p50_us "$res")" "$(field p99_us "$res")" "$cpu" "$(field errors "$res")" "$conns" "$sconns" -1 -1 -1 \
        "$foreign" "$noisy" "${note# }" "$(field resumed "$res" | grep . || echo -1)"
    stop_proxy
}

# ---------------------------------------------------------------- run

log "machine: $(nproc) cores; runs=$RUNS duration=${DUR}s idle-conns=$IDLE_CONNS nbthread=$NBTHREAD; proxies on cores $PROXY_CORES, load and backends on core 1"
START=$SECONDS
for r in $(seq "$RUNS"); do
    for w in $WORKLOADS; do
        for p in $PROXIES; do
            [ "$w" = idle ] && [ "$p" = direct ] && continue
            case $w in tls-*|idle-tcp) tls_proxy "$p" || continue ;; esac
            log "round $r/$RUNS  $w  $p"
            measure "$r" "$w" "$p"
            # A measurement disturbed by another process is taken again.
            for try in $(seq "$RETRIES"); do
                [ "$(tail -1 "$CSV" | cut -d, -f17)" = 1 ] || break
                log "round $r/$RUNS  $w  $p: disturbed ($(tail -1 "$CSV" | cut -d, -f18)), again ($try/$RETRIES)"
                sed -i '$d' "$CSV"
                measure "$r" "$w" "$p"
            done
        done
    done
done
ELAPSED=$(( SECONDS - START ))


# ---------------------------------------------------------------- report

if [ "$RUNS" -eq 0 ]; then
    log "--runs 0: no measurements, no table"
fi

if [ "$RUNS" -gt 0 ]; then
    rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
    [ -n "$(git -C "$ROOT" status --porcelain -- src Cargo.toml 2>/dev/null)" ] && rev="$rev (with uncommitted changes in src/)"
    {
        echo "# fulcrum end-to-end benchmark"
        echo
        echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); command: \`bash benches/compare.sh${ARGS:+ $ARGS}\` (rounds $RUNS, ${DUR} s per measurement, $IDLE_CONNS idle connections; took $(( ELAPSED / 60 )) min $(( ELAPSED % 60 )) s)"
        echo "- machine: $(nproc) cores, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), $(free -g 2>/dev/null | awk '/^Mem:/ {print $2 " GiB"}'), kernel $(uname -r)"
        echo "- fulcrum $rev ($(rustc -V 2>/dev/null | cut -d' ' -f1-2)); $(haproxy -v 2>/dev/null | awk 'NR == 1 {print $1, $2, $3}'); $(nginx -v 2>&1 | sed 's/.*: //'); $(wrk -v 2>&1 | awk 'NR == 1 {print $1, $2}')"
        if [ "$WANT_TLS" = 1 ]; then
            echo "- TLS: fulcrum with rustls $(awk '/^name = "rustls"$/ {getline; gsub(/"/, "", $3); print $3}' "$ROOT/Cargo.lock") (aws-lc-rs); HAProxy with $(haproxy -vv 2>/dev/null | sed -n 's/^Running on OpenSSL version : \(OpenSSL [^ ]*\).*/\1/p' | head -1); wrk with $(ldd "$(command -v wrk)" 2>/dev/null | grep -q libssl && openssl version | cut -d' ' -f1-2); certificates: self-signed ECDSA P-256 and RSA 2048 made by \`openssl req -x509\`; the TLS rows run fulcrum and HAProxy only"
        fi
        if [ "$NBTHREAD" = 1 ]; then
            echo "- setup: every proxy single-threaded and pinned to core 0 (fulcrum and HAProxy read benches/${CFG##*/}$([ "$MAXCONN" != "${CFG_MAXCONN:-}" ] && echo " with maxconn $MAXCONN, the most the open-file limit allows"); nginx worker_processes 1); the backends (nginx worker_processes 1; loadgen source) and the load generator (wrk -t1, loadgen) pinned to core 1"
        else
            echo "- setup: every proxy with $NBTHREAD threads (nginx: worker processes) on cores $PROXY_CORES (fulcrum and HAProxy read benches/${CFG##*/} with nbthread $NBTHREAD); the backends (nginx worker_processes 1; loadgen source) and the load generator (wrk -t1, loadgen) pinned to core 1, which they share with the proxy"
        fi
        echo
    } >"$T/header.md"
    mkdir -p "$RESULTS"
    for n in "${CHECK_NOTES[@]}"; do
        echo "0,checks,-,,,,,,,,,,,,,,,$n" >>"$CSV"
    done
    cp "$CSV" "$RESULTS/$OUT.csv"
    echo
    "$LOADGEN" report --csv "$CSV" --header "$T/header.md" --clk-tck "$CLK_TCK" --out "$RESULTS/$OUT.md"
    echo
    log "saved benches/results/$OUT.md and $OUT.csv"
fi

# ---------------------------------------------------------------- profiles

if [ "$PROFILE" = 1 ]; then
    for p in fulcrum haproxy; do
        log "profile: $p under the keep-alive load (perf record -g, ${DUR}s)"
        start_proxy "$p"
        taskset -c 1 timeout 30 wrk -t1 -c50 -d1s "http://127.0.0.1:$PROXY_HTTP/" >/dev/null 2>&1 || true
        perf record -q -g -p "$PROXY_PID" -o "$T/perf-$p.data" -- sleep "$DUR" >/dev/null 2>&1 &
        perf_pid=$!
        taskset -c 1 timeout $(( DUR + 30 )) wrk -t1 -c50 -d"${DUR}s" "http://127.0.0.1:$PROXY_HTTP/" >"$T/perf-wrk-$p.log" 2>&1 || true
        wait "$perf_pid" || true
        stop_proxy
        mkdir -p "$RESULTS"
        # Filters read all their input (no `head`): a SIGPIPE would stop the script.
        perf report -i "$T/perf-$p.data" --no-children --sort dso --stdio -g none >"$T/perf-$p-dso.txt" 2>/dev/null || true
        perf report -i "$T/perf-$p.data" --no-children --sort dso,sym --stdio -g none >"$T/perf-$p-sym.txt" 2>/dev/null || true
        perf report -i "$T/perf-$p.data" --children --sort sym --stdio -g none >"$T/perf-$p-children.txt" 2>/dev/null || true
        {
            echo "# perf profile of $p: keep-alive GET /, wrk -t1 -c50 for ${DUR}s, perf record -g -p PID"
            echo "# wrk: $(awk '/Requests\/sec/ {print $0}' "$T/perf-wrk-$p.log")"
            echo
            echo "## by DSO (self time: kernel vs user)"
            awk '!/^#/ && NF && n < 12 {print; n++}' "$T/perf-$p-dso.txt"
            echo
            echo "## top symbols (self time)"
            awk '!/^#/ && NF && n < 45 {print; n++}' "$T/perf-$p-sym.txt"
            echo
            echo "## top symbols (children: time in the symbol and what it calls)"
            awk '!/^#/ && NF && n < 45 {print; n++}' "$T/perf-$p-children.txt"
        } >"$RESULTS/profile-$p.txt"
        log "wrote benches/results/profile-$p.txt"
    done
fi

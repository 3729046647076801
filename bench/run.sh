#!/usr/bin/env bash
# wellknownd against nginx on this machine, in one run: the method is in BENCHMARKS.md.
# Installs what it needs (nginx, wrk, h2load, openssl), builds the release binary, mints the
# certificates, starts both servers pinned to one CPU with the load generator on the other,
# measures each load A/B interleaved (a warm-up round, then $ROUNDS rounds), and prints one
# table: server CPU time per operation (the headline: the machine is shared and noisy),
# requests per second, p99 latency, memory, start-up time and the ratios wellknownd/nginx
# with min-max over rounds. All traffic stays on 127.0.0.1; every load is bounded.
#   ROUNDS=3 DURATION=10 SERVER_CPU=0 CLIENT_CPU=1 bash bench/run.sh
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
HOLD=${HOLD:-10000}
SETTLE=${SETTLE:-3}
# A subset for quick A/B work, e.g. MEASURES="full_ecdsa resumed"; the table needs them all.
MEASURES=${MEASURES:-h1_tls h2_tls plain_http1 full_ecdsa full_rsa resumed}
# Reference servers measured beside the two (bench/baseline: plain hyper + tokio-rustls, one
# fixed body with wellknownd's header set, so that wellknownd / baseline is the cost of
# wellknownd's own work), one per crypto provider; BASELINES="" leaves them out.
BASELINES=${BASELINES-ring aws-lc-rs}
# wellknownd built on these other crypto providers too (the `aws-lc-rs` feature), measured
# beside the default build as wkd_<provider>; ALSO="" leaves them out.
ALSO=${ALSO-aws-lc-rs}
work=$(mktemp -d /tmp/wellknownd-bench.XXXXXX)
results=$work/results.tsv
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT

# --- tools --------------------------------------------------------------------------------
need=()
command -v nginx >/dev/null || need+=(nginx-light)
command -v wrk >/dev/null || need+=(wrk)
command -v h2load >/dev/null || need+=(nghttp2-client)
command -v openssl >/dev/null || need+=(openssl)
command -v python3 >/dev/null || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
# nginx from the package may be running as a service: ours gets its own config and ports.
cargo build --quiet --release --locked --bin wellknownd --example mint --example bench_client
bin=$repo/target/release/wellknownd
client=$repo/target/release/examples/bench_client
declare -A also_bin
for provider in $ALSO; do
    cargo build --quiet --release --locked -p wellknownd --bin wellknownd --no-default-features \
        --features "$provider" --target-dir "target/$provider"
    also_bin[$provider]=$repo/target/$provider/release/wellknownd
done
baseline=$repo/bench/baseline/target/release/wellknownd-bench-baseline
if [ -n "$BASELINES" ]; then
    features=()
    [[ " $BASELINES " == *" aws-lc-rs "* ]] && features=(--features aws-lc)
    (cd bench/baseline && cargo build --quiet --release --locked "${features[@]}")
fi

# --- certificates -------------------------------------------------------------------------
"$repo/target/release/examples/mint" "$work" ecdsa=example.com,127.0.0.1
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/rsa.key" -out "$work/rsa.crt" -days 2 \
    -subj /CN=example.com -addext subjectAltName=DNS:example.com,IP:127.0.0.1 2>/dev/null

body='{"m.server":"matrix.example.com:443"}'
# The snippet most guides give.
snippet="        location = /.well-known/matrix/server {
            default_type application/json;
            add_header Access-Control-Allow-Origin *;
            return 200 '$body';
        }"
nginx_conf() { # $1: port offset (0 for the benchmark, 5 for start-up)
    local o=$1
    cat <<EOF
worker_processes 1;
pid $work/nginx$o.pid;
error_log $work/nginx$o-error.log;
worker_rlimit_nofile 40000;
events { worker_connections 30000; }
http {
    access_log off;
    keepalive_requests 1000000;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:SSL$o:10m;
    ssl_session_tickets on;
    client_body_temp_path $work/nginx-body;
    server {
        listen 127.0.0.1:$((18443 + o)) ssl http2;
        listen 127.0.0.1:$((18080 + o));
        ssl_certificate $work/ecdsa.crt;
        ssl_certificate_key $work/ecdsa.key;
$snippet
    }
    server {
        listen 127.0.0.1:$((18444 + o)) ssl http2;
        ssl_certificate $work/rsa.crt;
        ssl_certificate_key $work/rsa.key;
$snippet
    }
}
EOF
}
wkd_conf() { # $1: TLS port, $2: plain port or none, $3: certificate stem
    local http=""
    [ "$2" != none ] && http="\"127.0.0.1:$2\""
    cat <<EOF
[listen]
https = ["127.0.0.1:$1"]
http = [$http]
[limits]
max_connections = 30000
# Every load comes from 127.0.0.1: the per-address cap (default 256) would refuse the
# 10 000 held connections, as it should for one client on the internet. nginx has no cap.
max_connections_per_ip = 30000
idle_timeout_secs = 300
[tls]
certificate = "$work/$3.crt"
private_key = "$work/$3.key"
[[domain]]
name = "example.com"
server = "matrix.example.com:443"
EOF
}
nginx_conf 0 >"$work/nginx.conf"
nginx_conf 5 >"$work/nginx-start.conf"
wkd_conf 19443 19080 ecdsa >"$work/wkd.toml"
wkd_conf 19444 none rsa >"$work/wkd-rsa.toml"
wkd_conf 19448 none ecdsa >"$work/wkd-start.toml"

# --- servers, pinned ----------------------------------------------------------------------
ulimit -n 40000 2>/dev/null || true
taskset -c "$SERVER_CPU" nginx -c "$work/nginx.conf" -g 'daemon off;' &
ngx=$!; pids+=("$ngx")
taskset -c "$SERVER_CPU" "$bin" --config "$work/wkd.toml" 2>"$work/wkd.log" &
wkd=$!; pids+=("$wkd")
taskset -c "$SERVER_CPU" "$bin" --config "$work/wkd-rsa.toml" 2>"$work/wkd-rsa.log" &
wkd_rsa=$!; pids+=("$wkd_rsa")
servers=(ngx wkd)
declare -A also_pid also_rsa_pid also_ports
port_offset=3000 # wkd_aws-lc-rs: 22443/22080/22444
for provider in $ALSO; do
    tls=$((19443 + port_offset)) plain=$((19080 + port_offset)) rsa=$((19444 + port_offset))
    wkd_conf "$tls" "$plain" ecdsa >"$work/wkd-$provider.toml"
    wkd_conf "$rsa" none rsa >"$work/wkd-$provider-rsa.toml"
    taskset -c "$SERVER_CPU" "${also_bin[$provider]}" --config "$work/wkd-$provider.toml" 2>"$work/wkd-$provider.log" &
    also_pid[$provider]=$!; pids+=("$!")
    taskset -c "$SERVER_CPU" "${also_bin[$provider]}" --config "$work/wkd-$provider-rsa.toml" 2>"$work/wkd-$provider-rsa.log" &
    also_rsa_pid[$provider]=$!; pids+=("$!")
    also_ports[$provider]="$tls $plain $rsa"
    servers+=("wkd_$provider")
    port_offset=$((port_offset + 1000))
done
declare -A base_pid
port_offset=1000 # base_ring: 20443/20080, base_aws-lc-rs: 21443/21080
for provider in $BASELINES; do
    taskset -c "$SERVER_CPU" "$baseline" "127.0.0.1:$((19443 + port_offset))" \
        "127.0.0.1:$((19080 + port_offset))" "$work/ecdsa.crt" "$work/ecdsa.key" "$provider" wellknownd &
    base_pid[$provider]=$!; pids+=("$!")
    servers+=("base_$provider")
    port_offset=$((port_offset + 1000))
done
ports() { # $1: server; prints "TLS plain RSA" ports (RSA: none for the baselines)
    case $1 in
        ngx) echo 18443 18080 18444 ;;
        wkd) echo 19443 19080 19444 ;;
        base_ring) echo 20443 20080 none ;;
        base_aws-lc-rs) echo 21443 21080 none ;;
        wkd_*) echo "${also_ports[${1#wkd_}]}" ;;
    esac
}
for port in 18443 18444 19443 19444 $(for s in "${servers[@]:2}"; do ports "$s" | awk '{print $1; if ($3 != "none") print $3}'; done); do
    for _ in $(seq 100); do
        curl -sk --max-time 1 -o /dev/null "https://127.0.0.1:$port/.well-known/matrix/server" && break
        sleep 0.05
    done
done

procs() { echo "$1"; ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' '; } # a server: main + children
ticks() { # user+system CPU ticks of all threads of all processes
    local t=0 p
    for p in $(procs "$1"); do
        t=$((t + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')))
    done
    echo "$t"
}
memory() { # "rss_kib pss_kib" summed over the processes
    for p in $(procs "$1"); do cat "/proc/$p/smaps_rollup"; done |
        awk '/^Rss:/ {r += $2} /^Pss:/ {s += $2} END {print r, s}'
}
hz=$(getconf CLK_TCK)

echo -e "measure\tserver\tround\tops\tcpu_us_per_op\tops_per_s\tp99_ms\tpeak_rss_kib" >"$results"
pid_of() { # $1: server; its main process (the ECDSA instance for wellknownd)
    case $1 in
        ngx) echo "$ngx" ;;
        wkd) echo "$wkd" ;;
        wkd_*) echo "${also_pid[${1#wkd_}]}" ;;
        base_*) echo "${base_pid[${1#base_}]}" ;;
    esac
}
wkds=(wkd $(for p in $ALSO; do echo "wkd_$p"; done))
for s in ngx "${wkds[@]}"; do
    pid=$(pid_of "$s")
    echo -e "idle_memory\t$s\t0\t0\t0\t0\t0\t$(memory $pid | awk '{print $1 "\t" $2}')" >>"$work/memory.tsv"
done

# One measured run: $1 measure, $2 server (ngx|wkd), $3 round, then the client command.
# Prints nothing; appends a line to results.tsv.
measure() {
    local name=$1 server=$2 round=$3 pid
    shift 3
    case "$server:$name" in
        wkd:full_rsa) pid=$wkd_rsa ;;
        wkd_*:full_rsa) pid=${also_rsa_pid[${server#wkd_}]} ;;
        *) pid=$(pid_of "$server") ;;
    esac
    local peak_file=$work/peak.$$
    echo 0 >"$peak_file"
    ( while :; do m=$(memory "$pid" | awk '{print $1}'); [ "$m" -gt "$(cat "$peak_file")" ] && echo "$m" >"$peak_file"; sleep 0.2; done ) &
    local sampler=$!
    local before start out
    before=$(ticks "$pid")
    start=$(date +%s.%N)
    out=$("$@" 2>&1)
    local elapsed used
    elapsed=$(python3 -c "import time; print(time.time() - $start)")
    used=$(($(ticks "$pid") - before))
    kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
    python3 - "$name" "$server" "$round" "$used" "$hz" "$elapsed" "$(cat "$peak_file")" "$out" >>"$results" <<'PY'
import re, sys
name, server, rnd, used, hz, elapsed, peak, out = sys.argv[1:9]
ops = 0
for m in re.finditer(r"(\d+) requests in", out):          # wrk
    ops += int(m.group(1))
for m in re.finditer(r"requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded", out):  # h2load
    ops += int(m.group(1))
p99 = 0.0
m = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
if m:
    p99 = float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
if ops == 0:
    sys.exit(f"{name} {server}: no completed operations in:\n{out}")
cpu_us = int(used) * 1e6 / int(hz) / ops
print(f"{name}\t{server}\t{rnd}\t{ops}\t{cpu_us:.2f}\t{ops / float(elapsed):.0f}\t{p99:.2f}\t{peak}")
PY
}

# Full handshakes: bursts of fresh h2load processes (no session shared between them), one
# request per connection, for $DURATION seconds.
handshakes() { # $1: port
    local end=$(($(date +%s) + DURATION))
    while [ "$(date +%s)" -lt "$end" ]; do
        taskset -c "$CLIENT_CPU" h2load -c50 -n50 -m1 "https://127.0.0.1:$1/.well-known/matrix/server" | grep "^requests:"
    done
}

run_round() { # $1: round number (0 = warm-up)
    local r=$1 s port plain rsa
    for m in $MEASURES; do
        for s in "${servers[@]}"; do
            read -r port plain rsa < <(ports "$s")
            [ "$m" = full_rsa ] && [ "$rsa" = none ] && continue
            local url=https://127.0.0.1:$port/.well-known/matrix/server
            case $m in
                h1_tls) measure $m $s "$r" taskset -c "$CLIENT_CPU" wrk -t1 -c50 -d"${DURATION}s" --latency "$url" ;;
                h2_tls) measure $m $s "$r" taskset -c "$CLIENT_CPU" h2load -c50 -m10 -n200000 "$url" ;;
                plain_http1) measure $m $s "$r" taskset -c "$CLIENT_CPU" wrk -t1 -c50 -d"${DURATION}s" --latency "http://127.0.0.1:$plain/.well-known/matrix/server" ;;
                full_ecdsa) measure $m $s "$r" handshakes "$port" ;;
                full_rsa) measure $m $s "$r" handshakes "$rsa" ;;
                resumed) measure $m $s "$r" taskset -c "$CLIENT_CPU" wrk -t1 -c50 -d"${DURATION}s" --latency -H 'Connection: close' "$url" ;;
            esac
            echo "  round $r $m $s: $(tail -n1 "$results" | cut -f4-7 | tr '\t' ' ')" >&2
        done
    done
}

echo "# warm-up" >&2
run_round 0
for r in $(seq "$ROUNDS"); do
    echo "# round $r" >&2
    run_round "$r"
done

# --- memory with $HOLD idle keep-alive TLS connections ---------------------------------------
for s in ngx "${wkds[@]}"; do
    pid=$(pid_of "$s") port=$(ports "$s" | cut -d' ' -f1)
    coproc HOLDER { taskset -c "$CLIENT_CPU" "$client" hold "127.0.0.1:$port" "$HOLD" "$work/ca.crt"; }
    read -r line <&"${HOLDER[0]}" || true
    # Idle means settled: nginx frees a keep-alive connection's request buffers at once,
    # wellknownd parks an HTTP/1.1 connection after one to two quiet ticks (1 s each here).
    sleep "$SETTLE"
    echo -e "held_memory\t$s\t0\t${line#holding }\t0\t0\t0\t$(memory $pid | awk '{print $1 "\t" $2}')" >>"$work/memory.tsv"
    exec {HOLDER[1]}>&-
    wait "$HOLDER_PID" 2>/dev/null || true
done

# --- start-up: exec to the first 200 over TLS ---------------------------------------------
for i in 1 2 3 4 5; do
    echo -e "startup\tngx\t$i\t$("$client" startup 127.0.0.1:18448 "$work/ca.crt" -- taskset -c "$SERVER_CPU" nginx -c "$work/nginx-start.conf" -g 'daemon off;' 2>>"$work/startup.log")" >>"$work/startup.tsv"
    echo -e "startup\twkd\t$i\t$("$client" startup 127.0.0.1:19448 "$work/ca.crt" -- taskset -c "$SERVER_CPU" "$bin" --config "$work/wkd-start.toml" 2>>"$work/startup.log")" >>"$work/startup.tsv"
done

sizes=$(for p in $ALSO; do echo -n "$p=$(stat -c %s "${also_bin[$p]}") "; done)
SIZES=$sizes python3 "$repo/bench/report.py" "$results" "$work/memory.tsv" "$work/startup.tsv" "$(stat -c %s "$bin")" \
    "$(nginx -v 2>&1 | sed 's/.*\///')" "$("$bin" --version | awk '{print $2}')" "$ROUNDS" "$DURATION"

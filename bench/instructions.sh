#!/usr/bin/env bash
# User-space instructions per operation, wellknownd against bench/baseline (plain hyper +
# tokio-rustls, ring), counted by callgrind; the baseline once with the nginx snippet's headers
# and once with wellknownd's, so that the last column is the cost of wellknownd's own work. Unlike bench/run.sh's CPU time this does not move
# with the machine's noise: the same binaries and loads give the same counts, so a change of a
# few percent in the request path shows. It leaves out the kernel (most of the CPU on these
# loads, see BENCHMARKS.md) and callgrind hides ADX from ring, so the handshake counts are for
# ring's fallback code. Each server runs under callgrind twice per load, with N and 2N
# operations; the difference over N is the cost of one, start-up and shutdown excluded.
#   N=5000 SERVER_CPU=0 bash bench/instructions.sh
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
N=${N:-5000}
SERVER_CPU=${SERVER_CPU:-0}
work=$(mktemp -d /tmp/wellknownd-instr.XXXXXX)
server=
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT

need=()
command -v valgrind >/dev/null || need+=(valgrind)
command -v h2load >/dev/null || need+=(nghttp2-client)
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
cargo build --quiet --release --locked --bin wellknownd --example mint
(cd bench/baseline && cargo build --quiet --release --locked)
"$repo/target/release/examples/mint" "$work" ecdsa=example.com,127.0.0.1
cat >"$work/wkd.toml" <<EOF
[listen]
https = ["127.0.0.1:19643"]
http = ["127.0.0.1:19280"]
[tls]
certificate = "$work/ecdsa.crt"
private_key = "$work/ecdsa.key"
[[domain]]
name = "example.com"
server = "matrix.example.com:443"
EOF

# $1 server (wkd|nginx|wellknownd: the baseline with that header set), $2 load, $3 operations; prints the instructions callgrind counted.
count() {
    local out=$work/callgrind.$1.$2.$3 tls=19643 plain=19280 cmd
    if [ "$1" = wkd ]; then
        cmd=("$repo/target/release/wellknownd" --config "$work/wkd.toml")
    else
        tls=20643 plain=20280
        cmd=("$repo/bench/baseline/target/release/wellknownd-bench-baseline" "127.0.0.1:$tls"
            "127.0.0.1:$plain" "$work/ecdsa.crt" "$work/ecdsa.key" ring "$1")
    fi
    # Pinned to one CPU as in bench/run.sh, so wellknownd picks the same (current-thread) runtime.
    taskset -c "$SERVER_CPU" valgrind --tool=callgrind --callgrind-out-file="$out" "${cmd[@]}" 2>"$out.log" &
    server=$!
    for _ in $(seq 200); do
        curl -sk --max-time 1 -o /dev/null "http://127.0.0.1:$plain/" && break
        sleep 0.1
    done
    local path=/.well-known/matrix/server
    case $2 in
        plain) h2load --h1 -c10 -n"$3" "http://127.0.0.1:$plain$path" ;;
        h1_tls) h2load --h1 -c10 -n"$3" "https://127.0.0.1:$tls$path" ;;
        h2_tls) h2load -c10 -m10 -n"$3" "https://127.0.0.1:$tls$path" ;;
        full_ecdsa) h2load --h1 -c"$3" -n"$3" "https://127.0.0.1:$tls$path" ;;
    esac | grep -q "succeeded, 0 failed" || { echo "$1 $2 $3: requests failed" >&2; exit 1; }
    kill -TERM "$server"
    wait "$server" || true
    server=
    awk '/^summary:/ {print $2}' "$out"
}

printf '%-12s %12s %12s %8s %12s %8s\n' load wellknownd baseline ratio "same hdrs" ratio
for load in plain h1_tls h2_tls full_ecdsa; do
    n=$N
    [ $load = full_ecdsa ] && n=$((N / 10))
    per_op() { echo $((($(count "$1" $load $((2 * n))) - $(count "$1" $load $n)) / n)); }
    w=$(per_op wkd)
    b=$(per_op nginx)
    h=$(per_op wellknownd)
    printf '%-12s %12d %12d %8s %12d %8s\n' $load "$w" "$b" "$(python3 -c "print(f'{$w / $b:.2f}')")" \
        "$h" "$(python3 -c "print(f'{$w / $h:.2f}')")"
done

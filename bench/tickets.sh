#!/usr/bin/env bash
# Resumption across instances (tls.ticket_key_file): two wellknownd instances behind a TCP
# round-robin on loopback (bench_client roundrobin), a client returning N times with the
# session tickets it was given (bench_client resume), once with a shared key file and once
# without. Prints how many handshakes were resumed and the handshakes per second. All traffic
# stays on 127.0.0.1; N is bounded.   N=2000 bash bench/tickets.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
N=${N:-2000}
work=$(mktemp -d /tmp/wellknownd-tickets.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT
cargo build --quiet --release --locked --bin wellknownd --example mint --example bench_client
bin=$repo/target/release/wellknownd
client=$repo/target/release/examples/bench_client
"$repo/target/release/examples/mint" "$work" ecdsa=example.com,127.0.0.1
install -m 600 /dev/null "$work/ticket.keys"
openssl rand -base64 48 >"$work/ticket.keys"

conf() { # $1: port, $2: the [tls] line for the key file (or nothing)
    cat <<EOF2
[listen]
https = ["127.0.0.1:$1"]
[tls]
certificate = "$work/ecdsa.crt"
private_key = "$work/ecdsa.key"
$2
[[domain]]
name = "example.com"
server = "matrix.example.com:443"
EOF2
}
ready() { # $1: port
    for _ in $(seq 100); do
        curl -sk --max-time 1 -o /dev/null "https://127.0.0.1:$1/.well-known/matrix/server" && return
        sleep 0.05
    done
    echo "nothing on port $1" >&2
    exit 1
}

run() { # $1: label, $2: first port, $3: the key-file line
    local a=$2 b=$(($2 + 1)) front=$(($2 + 2))
    conf "$a" "$3" >"$work/a-$a.toml"
    conf "$b" "$3" >"$work/b-$b.toml"
    "$bin" --config "$work/a-$a.toml" 2>>"$work/log" & pids+=("$!")
    "$bin" --config "$work/b-$b.toml" 2>>"$work/log" & pids+=("$!")
    "$client" roundrobin "127.0.0.1:$front" "127.0.0.1:$a" "127.0.0.1:$b" & pids+=("$!")
    ready "$a"; ready "$b"; ready "$front"
    echo "$1: $("$client" resume "127.0.0.1:$front" "$N" "$work/ca.crt")"
}
run "shared ticket_key_file" 23443 "ticket_key_file = \"$work/ticket.keys\""
run "each instance its own keys" 23453 ""

#!/usr/bin/env bash
# The OCI image as a user runs it: built by container/build.sh, started by podman with a
# mounted config and certificate, the documents fetched over TLS from the host's loopback
# (--network host), then stopped. Needs root, buildah, podman and runc; run by .ci/run. The
# podman flags are the ones this VM kind needs (cgroup v1, a hard RLIMIT_NPROC).
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
image=localhost/wellknownd:test
work=$(mktemp -d /tmp/wellknownd-container.XXXXXX)
name=wellknownd-test-$$
p() { podman --storage-driver vfs --runtime runc --cgroup-manager cgroupfs "$@"; }
cleanup() {
    p rm -f "$name" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
pass=0
ok() { pass=$((pass + 1)); echo "ok $pass - $*"; }
fail() { echo "not ok - $*" >&2; p logs "$name" >&2 || true; exit 1; }

bash container/build.sh "$image" >/dev/null
size=$(p image inspect --format '{{.Size}}' "$image")
ok "image built: $image, $((size / 1024)) KiB"
[ "$(p image inspect --format '{{.Config.User}}' "$image")" = 65534:65534 ] || fail "image user is not 65534:65534"
ok "image user 65534:65534 (nobody)"

cargo run --quiet --release --example mint -- "$work/certs" leaf=example.com
mkdir -p "$work/etc/tls"
install -m 644 "$work/certs/leaf.crt" "$work/etc/tls/fullchain.pem"
install -m 644 "$work/certs/leaf.key" "$work/etc/tls/privkey.pem"
# The image's own config, its listeners on ports the host's kernel picks on loopback.
sed "s/0.0.0.0:8443/127.0.0.1:0/; s/0.0.0.0:8080/127.0.0.1:0/" container/config.toml >"$work/etc/config.toml"
# As README says: the image runs as nobody, who must read the key.
chown -R 65534:65534 "$work/etc"
p run -d --name "$name" --network host --ulimit nofile=4096:4096 --ulimit nproc=1024:1024 \
    -v "$work/etc:/etc/wellknownd:ro" "$image" >/dev/null
port=
for _ in $(seq 100); do
    port=$(p logs "$name" 2>&1 | sed -n 's|.*listening on https://127.0.0.1:\([0-9]*\).*|\1|p' | head -n 1)
    [ -n "$port" ] && break
    sleep 0.1
done
[ -n "$port" ] || fail "the daemon did not start listening"

get() { curl --silent --show-error --max-time 5 --cacert "$work/certs/ca.crt" \
    --resolve "example.com:$port:127.0.0.1" "$@" "https://example.com:$port/.well-known/matrix/server"; }
for _ in $(seq 100); do get --output /dev/null 2>/dev/null && break; sleep 0.1; done
body=$(get) || fail "no answer from the container"
[ "$body" = '{"m.server":"matrix.example.com:443"}' ] || fail "server document: $body"
headers=$(get --dump-header - --output /dev/null)
grep -qi '^access-control-allow-origin: \*' <<<"$headers" || fail "no CORS: $headers"
grep -qi '^content-type: application/json' <<<"$headers" || fail "content type: $headers"
ok "the mounted config and certificate serve the server document with CORS"
user=$(p top "$name" huser | tail -n 1 | tr -d ' ')
[ "$user" != root ] && [ "$user" != 0 ] || fail "the daemon runs as $user"
ok "the daemon's process runs as $user on the host"
p stop --time 10 "$name" >/dev/null || fail "podman stop"
code=$(p inspect --format '{{.State.ExitCode}}' "$name")
[ "$code" = 0 ] || fail "exit code $code after podman stop"
ok "podman stop: SIGTERM, exit code 0"

echo "$pass passed, 0 failed"

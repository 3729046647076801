#!/usr/bin/env bash
# Builds the wellknownd OCI image offline with Debian's buildah: from scratch, a static
# binary (glibc, crt-static), the CA bundle the probe and the ACME client need, a non-root
# user, config at /etc/wellknownd/config.toml, ports 8443 (TLS) and 8080 (plain HTTP) inside.
#   bash container/build.sh [IMAGE]        (default IMAGE: localhost/wellknownd:latest)
# Storage is the vfs driver: it needs no overlay support from the kernel.
set -euo pipefail
cd "$(dirname "$0")/.."
image=${1:-localhost/wellknownd:latest}
target=x86_64-unknown-linux-gnu
RUSTFLAGS="-C target-feature=+crt-static" cargo build --quiet --release --locked --target "$target" \
    --bin wellknownd --bin wellknownd-probe
bin=target/$target/release
b() { buildah --storage-driver vfs "$@"; }
ctr=$(b from scratch)
trap 'b rm "$ctr" >/dev/null 2>&1 || true' EXIT
b copy "$ctr" "$bin/wellknownd" "$bin/wellknownd-probe" /usr/bin/
b copy "$ctr" /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
b copy "$ctr" container/config.toml /etc/wellknownd/config.toml
# nobody:nogroup; the daemon binds 8443/8080, so it needs no capability at all.
b config --user 65534:65534 --port 8443 --port 8080 \
    --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    --entrypoint '["/usr/bin/wellknownd"]' --cmd '["--config", "/etc/wellknownd/config.toml"]' \
    --label org.opencontainers.image.title=wellknownd "$ctr"
b commit --quiet "$ctr" "$image" >/dev/null
echo "$image"

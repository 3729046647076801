#!/usr/bin/env bash
# The Debian package under a real systemd: boots Debian bookworm with systemd-nspawn, installs
# the .deb that `cargo deb` makes of the release build, and checks through the packaged units
# what an operator relies on: an unconfigured install stays quiet, then a config whose
# certificate sits in a certbot-style /etc/letsencrypt tree serves; reloads, renewals,
# restarts and an upgrade under load, ACME, and purge. Needs root, debootstrap,
# systemd-container and cargo-deb; run by .ci/run after `cargo build --release`. The Debian root is built
# once (about 100 s) and cached in $WELLKNOWND_TEST_ROOT; the container runs on a throw-away
# overlay, so the cache stays clean. Every wait is bounded; all traffic stays on the
# container's own loopback.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
root=${WELLKNOWND_TEST_ROOT:-/var/tmp/wellknownd-bookworm}
work=$(mktemp -d /var/tmp/wellknownd-systemd.XXXXXX)
nspawn_pid=
leader=

pass=0
ok() { pass=$((pass + 1)); echo "ok $pass - $*"; }
fail() {
    echo "not ok - $*" >&2
    echo "--- journal:" >&2
    in_ct journalctl --no-pager -n 80 -u wellknownd.socket -u wellknownd.service \
        -u wellknownd-standalone.service -u wellknownd-acme.service >&2 || true
    exit 1
}
host_pids=()

cleanup() {
    for p in "${host_pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    # Killing the container's init ends every process in its PID namespace, then nspawn.
    if [ -n "$leader" ]; then kill -KILL "$leader" 2>/dev/null || true; fi
    if [ -n "$nspawn_pid" ]; then
        for _ in $(seq 50); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$nspawn_pid" 2>/dev/null || true
        wait "$nspawn_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# --- the Debian root, built once ---------------------------------------------------------
# procps: /bin/kill, which the units' ExecReload= uses, as on every full Debian install.
if [ ! -x "$root/usr/lib/systemd/systemd" ] || [ ! -x "$root/usr/bin/kill" ]; then
    echo "# debootstrap bookworm into $root (once)"
    rm -rf "$root.tmp"
    debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,procps bookworm "$root.tmp" \
        http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log"; exit 1; }
    rm -rf "$root"
    mv "$root.tmp" "$root"
fi

# --- what goes into the container ---------------------------------------------------------
# The package, and a newer build of it for the upgrade (same binaries, a higher version).
command -v cargo-deb >/dev/null || { echo "cargo-deb is missing: cargo install cargo-deb --locked" >&2; exit 1; }
mkdir -p "$work/debs"
deb1=$(cd "$repo" && cargo deb --no-build --quiet --output "$work/debs/")
version=$(dpkg-deb --field "$deb1" Version)
deb2=$(cd "$repo" && cargo deb --no-build --quiet --deb-version "$version+upgrade" --output "$work/debs/")
cargo run --quiet --release --example mint -- "$work/certs" cert1=example.com cert2=example.com cert3=example.com \
    cert4=example.com pebble=127.0.0.1
le=$work/letsencrypt
mkdir -p "$le/archive/example.com" "$le/live/example.com" "$work/etc"
install -m 644 "$work/certs/cert1.crt" "$le/archive/example.com/fullchain1.pem"
install -m 600 "$work/certs/cert1.key" "$le/archive/example.com/privkey1.pem"
ln -s ../../archive/example.com/fullchain1.pem "$le/live/example.com/fullchain.pem"
ln -s ../../archive/example.com/privkey1.pem "$le/live/example.com/privkey.pem"

config() { # $1: homeserver URL; $2: m.server; $3: certificate (default: the credential); $4: [listen]
    cat >"$work/etc/config.toml.new" <<EOF
${4:-}
[tls]
certificate = "${3:-fullchain.pem}"
private_key = "privkey.pem"

[[domain]]
name = "example.com"
server = "$2"

[domain.client]
homeserver = "$1"
EOF
    mv "$work/etc/config.toml.new" "$work/etc/config.toml"
}

systemd-nspawn --boot --register=no --keep-unit --private-network --volatile=overlay \
    --directory="$root" --machine=wellknownd-test \
    --bind-ro="$work/debs:/debs" \
    --bind="$work/etc:/etc/wellknownd" \
    --bind="$le:/etc/letsencrypt" \
    >"$work/console.log" 2>&1 </dev/null &
nspawn_pid=$!

in_ct() { nsenter --target "$leader" --all "$@"; }      # a command inside the container
in_net() { nsenter --target "$leader" --net "$@"; }     # a host tool on the container's loopback
# README's set-up, run as written (without `sudo`: the container is root): the lines of the
# Nth ```sh block after the heading $1.
readme_sh() { # $1: heading, $2: N
    awk -v h="$1" -v want="$2" '
        $0 == h { on = 1; next }
        on && /^## / { exit }
        on && /^```sh$/ { n++; inside = (n == want); next }
        on && /^```/ { inside = 0; next }
        inside { sub(/^sudo /, ""); print }' "$repo/README.md"
}

for _ in $(seq 150); do
    leader=$( (ps -o pid= --ppid "$nspawn_pid" || true) | tr -d ' ' | head -n1)
    if [ -n "$leader" ]; then
        state=$(in_ct systemctl is-system-running 2>/dev/null || true)
        case "$state" in running|degraded) break ;; esac
    fi
    sleep 0.2
done
case "${state:-}" in running|degraded) ok "container booted ($state)" ;; *) cat "$work/console.log"; fail "container did not boot" ;; esac

curl_ct() { in_net curl --silent --show-error --max-time 5 --cacert "$work/certs/ca.crt" --resolve example.com:443:127.0.0.1 "$@"; }
serial_ct() {
    in_net openssl s_client -connect 127.0.0.1:443 -servername example.com </dev/null 2>/dev/null |
        openssl x509 -noout -serial
}
# Whether the unit's journal has a line matching $1 (extra journalctl options after it),
# polled for up to 5 s: journald writes what systemd logs a little later. The output is read
# whole, not piped to `grep -q`, whose early exit would fail journalctl with SIGPIPE under
# pipefail.
journal_has() {
    local pattern=$1 text
    shift
    for _ in $(seq 25); do
        text=$(in_ct journalctl --no-pager -u wellknownd.service "$@")
        grep -q -- "$pattern" <<<"$text" && return 0
        sleep 0.2
    done
    return 1
}

main_pid() { in_ct systemctl show --property=MainPID --value wellknownd.service; }

# A bounded request loop on the container's loopback; prints "<ok> <failed>" when stopped.
loop_start() { # $1: the CA to trust (default: the test CA)
    rm -f "$work/loop.stop"
    in_net bash -c '
        ok=0; failed=0
        for _ in $(seq 3000); do
            [ -e "$1/loop.stop" ] && break
            code=$(curl --silent --max-time 5 --cacert "$2" --resolve example.com:443:127.0.0.1 \
                --output /dev/null --write-out "%{http_code}" https://example.com/.well-known/matrix/server || true)
            if [ "$code" = 200 ]; then ok=$((ok + 1)); else failed=$((failed + 1)); fi
        done
        echo "$ok $failed" >"$1/loop.result"' _ "$work" "${1:-$work/certs/ca.crt}" &
    loop_pid=$!
    sleep 0.5
}
loop_stop() { # $1: what ran meanwhile
    touch "$work/loop.stop"
    wait "$loop_pid"
    read -r good bad <"$work/loop.result"
    [ "$bad" = 0 ] && [ "$good" -gt 0 ] || fail "$1: $bad of $((good + bad)) requests failed"
    ok "$1: $good requests, none failed"
}

# --- the package, on a host without a config -------------------------------------------------
in_ct dpkg -i "/debs/$(basename "$deb1")" >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg -i"; }
[ "$(in_ct systemctl is-enabled wellknownd.socket)" = enabled ] || fail "socket not enabled by the package"
for unit in wellknownd.socket wellknownd.service wellknownd-standalone.service wellknownd-acme.service; do
    [ "$(in_ct systemctl is-active "$unit" || true)" = inactive ] || fail "$unit not inactive without a config"
done
[ "$(in_ct systemctl show --property=ConditionResult --value wellknownd.socket)" = no ] || fail "socket start not skipped"
[ -z "$(in_ct systemctl list-units --state=failed --plain --no-legend 'wellknownd*')" ] || fail "failed units after install"
[ "$(in_ct readlink -f /usr/lib/systemd/system/wellknownd.service)" = /usr/lib/systemd/system/wellknownd.service ] || fail "unit not installed"
in_ct grep -q "^ExecStart=/usr/bin/wellknownd " /usr/lib/systemd/system/wellknownd.service || fail "unit does not name /usr/bin"
in_ct test -e /usr/share/man/man5/wellknownd.toml.5.gz || fail "no wellknownd.toml(5)"
ok "package installed on an unconfigured host: socket enabled, every unit inactive, none failed"

# --- socket activation ----------------------------------------------------------------------
# README's steps after the install: write the config, link the certificates to the units'
# fixed place, check, start (its curl line is the next check, with the test CA).
# The test CA as the guest's trusted roots (a private CA installed system-wide), so that
# `check` finds the chain complete.
in_ct sh -c 'mkdir -p /etc/ssl/certs && cat >/etc/ssl/certs/ca-certificates.crt' <"$work/certs/ca.crt"
steps=$(readme_sh "### 1. The Debian package" 2 | grep -v '^curl ')
grep -q "systemctl start wellknownd.socket" <<<"$steps" || fail "README's package steps not found"
in_ct bash -euc "$steps" >"$work/steps.log" 2>&1 || { cat "$work/steps.log"; fail "README's package steps"; }
[ "$(in_ct systemctl is-active wellknownd.service || true)" = inactive ] || fail "service started before any connection"
ok "socket listening, service not yet started"
body=$(curl_ct https://example.com/.well-known/matrix/server)
[ "$body" = '{"m.server":"matrix.example.com:443"}' ] || fail "server document: $body"
body=$(curl_ct https://example.com/.well-known/matrix/client)
[ "$body" = '{"m.homeserver":{"base_url":"https://matrix.example.com"}}' ] || fail "client document: $body"
[ "$(in_ct systemctl is-active wellknownd.service)" = active ] || fail "service not active after first connection"
ok "first connection started the service; both documents served"

# --- the sandbox ----------------------------------------------------------------------------
pid=$(main_pid)
caps=$(in_ct grep CapEff "/proc/$pid/status" | awk '{print $2}')
[ "$caps" = 0000000000000000 ] || fail "effective capabilities $caps"
uid=$(in_ct awk '/^Uid:/ {print $2}' "/proc/$pid/status")
[ "$uid" != 0 ] || fail "runs as root"
if in_ct setpriv --reuid="$uid" --regid="$uid" --clear-groups cat /etc/letsencrypt/live/example.com/privkey.pem >/dev/null 2>&1; then
    fail "uid $uid can read privkey.pem"
fi
ok "no capabilities, dynamic uid $uid, privkey.pem unreadable to it"
status=$(in_ct systemctl show --property=StatusText --value wellknownd.service)
case "$status" in "serving example.com; started "*) ok "status line: $status" ;; *) fail "status: $status" ;; esac

# --- reload ---------------------------------------------------------------------------------
config https://matrix2.example.com matrix.example.com:443
in_ct systemctl reload wellknownd.service || fail "systemctl reload"
body=$(curl_ct https://example.com/.well-known/matrix/client)
[ "$body" = '{"m.homeserver":{"base_url":"https://matrix2.example.com"}}' ] || fail "after reload: $body"
[ "$(in_ct systemctl is-active wellknownd.service)" = active ] || fail "not active after reload"
journal_has "Reloading wellknownd.service" || fail "no Reloading in the journal"
journal_has "Reloaded wellknownd.service" || fail "no Reloaded in the journal"
ok "systemctl reload: reloading, then active, new document served"

config https://matrix3.example.com "https://matrix.example.com"
if in_ct systemctl reload wellknownd.service 2>/dev/null; then fail "reload of a bad config succeeded"; fi
body=$(curl_ct https://example.com/.well-known/matrix/client)
[ "$body" = '{"m.homeserver":{"base_url":"https://matrix2.example.com"}}' ] || fail "after bad reload: $body"
[ "$(in_ct systemctl is-active wellknownd.service)" = active ] || fail "not active after a bad reload"
ok "bad config: systemctl reload fails, the old config keeps serving"

# A certificate that does not match its key (cert3 beside the credential's privkey.pem): the
# daemon refuses it, `systemctl reload` fails with its reason, the old state serves on.
install -m 644 "$work/certs/cert3.crt" "$work/etc/other.crt"
before=$(serial_ct)
config https://matrix3.example.com matrix.example.com:443 /etc/wellknownd/other.crt
if in_ct systemctl reload wellknownd.service 2>/dev/null; then fail "reload with a mismatched key succeeded"; fi
journal_has "refused, still serving the previous state: .*is not the key of /etc/wellknownd/other.crt" \
    || fail "no reason for the refused reload in the journal"
body=$(curl_ct https://example.com/.well-known/matrix/client)
[ "$body" = '{"m.homeserver":{"base_url":"https://matrix2.example.com"}}' ] || fail "after refused reload: $body"
[ "$(serial_ct)" = "$before" ] || fail "the certificate changed after a refused reload"
[ "$(in_ct systemctl is-active wellknownd.service)" = active ] || fail "not active after a refused reload"
ok "certificate not matching its key: systemctl reload fails, the old certificate and config serve"

# --- journal priorities ---------------------------------------------------------------------
config https://matrix2.example.com matrix.example.net:443
in_ct systemctl reload wellknownd.service || fail "reload with a delegation change"
warnings=$(in_ct journalctl --no-pager -u wellknownd.service -p warning -o cat)
grep -q "DELEGATION CHANGED for example.com" <<<"$warnings" || fail "no delegation warning at -p warning: $warnings"
if grep -q "listening on" <<<"$warnings"; then fail "info lines at -p warning"; fi
journal_has "listening on https://" -p info -o cat || fail "no info lines"
ok "journal priorities: warnings at -p warning, info lines only at -p info"

# --- certbot renewal with the deploy hook, under load ----------------------------------------
before=$(serial_ct)
loop_start
install -m 644 "$work/certs/cert2.crt" "$le/archive/example.com/fullchain2.pem"
install -m 600 "$work/certs/cert2.key" "$le/archive/example.com/privkey2.pem"
ln -sfn ../../archive/example.com/fullchain2.pem "$le/live/example.com/fullchain.pem.new"
mv -T "$le/live/example.com/fullchain.pem.new" "$le/live/example.com/fullchain.pem"
ln -sfn ../../archive/example.com/privkey2.pem "$le/live/example.com/privkey.pem.new"
mv -T "$le/live/example.com/privkey.pem.new" "$le/live/example.com/privkey.pem"
RENEWED_LINEAGE=/etc/letsencrypt/live/example.com in_ct /usr/share/wellknownd/wellknownd-certbot-deploy-hook
sleep 1
loop_stop "certbot renewal + deploy hook"
after=$(serial_ct)
expected=$(openssl x509 -noout -serial -in "$work/certs/cert2.crt")
[ "$after" = "$expected" ] && [ "$after" != "$before" ] || fail "serving $after, expected $expected"
ok "renewed certificate served ($after)"

# --- restart under load ---------------------------------------------------------------------
loop_start
in_ct systemctl restart wellknownd.service
sleep 1
loop_stop "systemctl restart"

# --- session tickets across a restart: tls.ticket_key_file as a credential -----------------
# README's way under the packaged units: the root-owned 0600 key file handed to the dynamic
# user by a LoadCredential= drop-in, named relative to the credentials. A ticket issued before
# a restart resumes after it; without the file (each process has keys of its own) it cannot.
in_ct mkdir -p /run/systemd/system/wellknownd.service.d
openssl rand -base64 48 >"$work/etc/ticket.keys"
chmod 600 "$work/etc/ticket.keys"
drop_in=/run/systemd/system/wellknownd.service.d/tickets.conf
in_ct sh -c "printf '[Service]\nLoadCredential=ticket.keys:/etc/wellknownd/ticket.keys\n' >$drop_in"
sed -i 's/^private_key = "privkey.pem"$/&\nticket_key_file = "ticket.keys"/' "$work/etc/config.toml"
in_ct systemctl daemon-reload
restart_ct() {
    in_ct systemctl restart wellknownd.service
    curl_ct https://example.com/.well-known/matrix/server >/dev/null || fail "not serving after restart"
}
# Prints "New," or "Reused,": a handshake with the ticket a process started with this unit and
# config gave, to the next process.
resumed_after_restart() {
    local request='GET /.well-known/matrix/server HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n' out
    tls() { printf "$request" | in_net timeout 10 openssl s_client -connect 127.0.0.1:443 \
        -servername example.com -CAfile "$work/certs/ca.crt" -ign_eof "$@" 2>/dev/null; }
    restart_ct
    rm -f "$work/session.pem"
    tls -sess_out "$work/session.pem" >/dev/null
    [ -s "$work/session.pem" ] || fail "no session ticket saved"
    restart_ct
    out=$(tls -sess_in "$work/session.pem")
    grep -m1 -oE '^(New|Reused),' <<<"$out" || true
}
[ "$(resumed_after_restart)" = "Reused," ] || fail "a ticket from before the restart did not resume"
[ "$(in_ct systemctl is-active wellknownd.service)" = active ] || fail "not active with the ticket key file"
in_ct rm "$drop_in"
sed -i '/^ticket_key_file = /d' "$work/etc/config.toml"
in_ct systemctl daemon-reload
[ "$(resumed_after_restart)" = "New," ] || fail "a ticket resumed across a restart without the key file"
rm "$work/etc/ticket.keys"
ok "ticket_key_file as a LoadCredential= drop-in: a ticket from before a restart resumes after it (and does not without it)"

# --- upgrade under load ---------------------------------------------------------------------
# dpkg -i of a newer build: the service restarts with the new binary, the socket (and so the
# port) stays, the admin's config is untouched.
pid=$(main_pid)
since=$(in_ct systemctl show --property=ActiveEnterTimestampMonotonic --value wellknownd.socket)
sum=$(sha256sum <"$work/etc/config.toml")
loop_start
in_ct dpkg -i "/debs/$(basename "$deb2")" >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "upgrade"; }
sleep 1
loop_stop "upgrade to $version+upgrade (dpkg -i) under load"
[ "$(in_ct dpkg-query --show --showformat='${Version}' wellknownd)" = "$version+upgrade" ] || fail "not upgraded"
[ "$(main_pid)" != "$pid" ] && [ "$(main_pid)" != 0 ] || fail "the service was not restarted by the upgrade"
[ "$(in_ct systemctl show --property=ActiveEnterTimestampMonotonic --value wellknownd.socket)" = "$since" ] ||
    fail "the socket was restarted by the upgrade"
[ "$(sha256sum <"$work/etc/config.toml")" = "$sum" ] || fail "the upgrade changed the config"
ok "upgrade: service restarted (pid $pid -> $(main_pid)), socket kept, config untouched"

# --- watchdog -------------------------------------------------------------------------------
in_ct mkdir -p /run/systemd/system/wellknownd.service.d
in_ct sh -c 'printf "[Service]\nWatchdogSec=2s\n" >/run/systemd/system/wellknownd.service.d/watchdog.conf'
in_ct systemctl daemon-reload
in_ct systemctl restart wellknownd.service
curl_ct --output /dev/null https://example.com/.well-known/matrix/server
old=$(main_pid)
restarts=$(in_ct systemctl show --property=NRestarts --value wellknownd.service)
in_ct kill -STOP "$old"
for _ in $(seq 100); do
    new=$(main_pid)
    [ "$new" != "$old" ] && [ "$new" != 0 ] && break
    sleep 0.2
done
[ "$new" != "$old" ] && [ "$new" != 0 ] || fail "watchdog did not restart the stopped daemon"
[ "$(in_ct systemctl show --property=NRestarts --value wellknownd.service)" -gt "$restarts" ] || fail "no restart counted"
journal_has "Watchdog timeout" || fail "no watchdog timeout in the journal"
body=$(curl_ct https://example.com/.well-known/matrix/server)
[ "$body" = '{"m.server":"matrix.example.net:443"}' ] || fail "after watchdog restart: $body"
ok "watchdog restarted the stopped daemon (pid $old -> $new)"

# --- the standalone unit: certbot's renewal reaches it too ------------------------------------
until_serial() { # $1: the serial to wait for, or "!OLD" for any other than OLD
    for _ in $(seq 300); do
        now=$(serial_ct || true)
        case "$1" in
            !*) [ -n "$now" ] && [ "$now" != "${1#!}" ] && return 0 ;;
            *) [ "$now" = "$1" ] && return 0 ;;
        esac
        sleep 0.2
    done
    return 1
}
in_ct systemctl stop wellknownd.socket wellknownd.service
config https://matrix2.example.com matrix.example.net:443 "" '[listen]
https = ["127.0.0.1:443"]'
in_ct systemctl start wellknownd-standalone.service || fail "standalone unit did not start"
before=$(serial_ct)
install -m 644 "$work/certs/cert4.crt" "$le/archive/example.com/fullchain3.pem"
install -m 600 "$work/certs/cert4.key" "$le/archive/example.com/privkey3.pem"
ln -sfn ../../archive/example.com/fullchain3.pem "$le/live/example.com/fullchain.pem"
ln -sfn ../../archive/example.com/privkey3.pem "$le/live/example.com/privkey.pem"
RENEWED_LINEAGE=/etc/letsencrypt/live/example.com in_ct /usr/share/wellknownd/wellknownd-certbot-deploy-hook
expected=$(openssl x509 -noout -serial -in "$work/certs/cert4.crt")
until_serial "$expected" || fail "standalone unit still serves $(serial_ct), not the renewed $expected"
[ "$before" != "$expected" ] || fail "the renewal did not change the certificate"
ok "certbot renewal + deploy hook reached the standalone unit ($expected)"

# --- ACME: the shipped units obtain and renew certificates from pebble ----------------------
# pebble (the test CA) and pebble-challtestsrv (its DNS: every name is 127.0.0.1) run on the
# host, in the container's network namespace: the CA validates TLS-ALPN-01 on its port 443.
cat >"$work/pebble.json" <<EOF
{"pebble": {"listenAddress": "127.0.0.1:14000", "managementListenAddress": "127.0.0.1:15000",
  "certificate": "$work/certs/pebble.crt", "privateKey": "$work/certs/pebble.key",
  "httpPort": 80, "tlsPort": 443, "ocspResponderURL": "", "externalAccountBindingRequired": false,
  "certificateValidityPeriod": 7776000}}
EOF
# nsenter itself in the background (not the in_net function, whose subshell would be what
# $! names): it execs the server, so killing $! at cleanup ends the server.
nsenter --target "$leader" --net pebble-challtestsrv -defaultIPv4 127.0.0.1 -defaultIPv6 "" -dns01 127.0.0.1:8053 -http01 "" \
    -https01 "" -tlsalpn01 "" -management 127.0.0.1:8055 >"$work/challtestsrv.log" 2>&1 &
host_pids+=($!)
PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 nsenter --target "$leader" --net pebble -config "$work/pebble.json" \
    -dnsserver 127.0.0.1:8053 >"$work/pebble.log" 2>&1 &
host_pids+=($!)
for _ in $(seq 100); do
    in_net curl --silent --insecure --max-time 2 --output "$work/pebble-root.pem" https://127.0.0.1:15000/roots/0 && break
    sleep 0.2
done
grep -q "BEGIN CERTIFICATE" "$work/pebble-root.pem" || { cat "$work/pebble.log"; fail "pebble did not start"; }
install -m 644 "$work/certs/ca.crt" "$work/etc/acme-ca.pem"
acme_config() { # $1: renew_before_days; $2: [listen]
    cat >"$work/etc/config.toml.new" <<EOF
${2:-}
[acme]
directory = "https://127.0.0.1:14000/dir"
terms_of_service_agreed = true
ca_certificate = "/etc/wellknownd/acme-ca.pem"
renew_before_days = $1

[[domain]]
name = "example.com"
server = "matrix.example.com:443"
EOF
    mv "$work/etc/config.toml.new" "$work/etc/config.toml"
}
acme_served() { # the server document over a certificate from pebble
    in_net curl --silent --max-time 5 --cacert "$work/pebble-root.pem" --resolve example.com:443:127.0.0.1 \
        https://example.com/.well-known/matrix/server 2>/dev/null || true
}
in_ct systemctl stop wellknownd-standalone.service
# An ACME-only host has no certificate files. A missing LoadCredential= source fails a unit
# (243/CREDENTIALS, measured here on systemd 252), so README's drop-in clears them.
rm "$work/etc/tls"
for unit in wellknownd.service wellknownd-standalone.service; do
    in_ct mkdir -p "/etc/systemd/system/$unit.d"
    in_ct sh -c "printf '[Service]\nLoadCredential=\n' >/etc/systemd/system/$unit.d/acme-only.conf"
done
in_ct systemctl daemon-reload
acme_config 30
in_ct systemctl start wellknownd.socket
# The first connection starts the server; with no certificate yet its handshake fails, and
# the server says what it waits for.
acme_served >/dev/null
for _ in $(seq 50); do [ "$(in_ct systemctl is-active wellknownd.service)" = active ] && break; sleep 0.2; done
status=$(in_ct systemctl show --property=StatusText --value wellknownd.service)
case "$status" in
    *"waiting for a certificate for example.com from https://127.0.0.1:14000/dir"*) ;;
    *) fail "status before the first certificate: $status" ;;
esac
ok "first start without a certificate: serving, STATUS= says it waits for one"
in_ct systemctl start wellknownd-acme.service
for _ in $(seq 300); do [ "$(acme_served)" = '{"m.server":"matrix.example.com:443"}' ] && break; sleep 0.2; done
[ "$(acme_served)" = '{"m.server":"matrix.example.com:443"}' ] || fail "no certificate from pebble served: $(acme_served)"
[ "$(in_ct stat -c %a /var/lib/private/wellknownd)" = 700 ] || fail "state directory not 0700"
[ "$(in_ct stat -c %a /var/lib/private/wellknownd/certificates/example.com.pem)" = 600 ] || fail "certificate file not 0600"
ok "socket-activated daemon (no network) + wellknownd-acme.service: certificate from pebble served"
status=$(in_ct systemctl show --property=StatusText --value wellknownd.service)
case "$status" in *waiting*) fail "status still waiting: $status" ;; esac

before=$(serial_ct)
pid=$(main_pid)
acme_config 365
loop_start "$work/pebble-root.pem"
in_ct systemctl restart wellknownd-acme.service
until_serial "!$before" || fail "the renewal never reached the socket-activated daemon"
sleep 1
loop_stop "ACME renewal reaching the socket-activated daemon"
[ "$(main_pid)" = "$pid" ] || fail "the server was restarted for the renewal"
ok "renewed certificate $(serial_ct) served by the same process (pid $pid), no reload"

before=$(serial_ct)
in_ct systemctl stop wellknownd-acme.service wellknownd.socket wellknownd.service
acme_config 365 '[listen]
https = ["127.0.0.1:443"]'
in_ct systemctl start wellknownd-standalone.service || fail "standalone unit did not start"
until_serial "!$before" || fail "the standalone unit did not renew in-process"
[ "$(acme_served)" = '{"m.server":"matrix.example.com:443"}' ] || fail "standalone: $(acme_served)"
ok "standalone unit renewed in-process: $(serial_ct)"

# --- behind a proxy: README's drop-ins and config, nginx in front ------------------------------
in_ct systemctl stop wellknownd-standalone.service
steps=$(readme_sh "### 3. Behind the proxy you already run" 1)
grep -q "ListenStream=127.0.0.1:8080" <<<"$steps" || fail "README's proxy steps not found"
in_ct bash -euc "$steps" >"$work/steps.log" 2>&1 || { cat "$work/steps.log"; fail "README's proxy steps"; }
[ "$(in_ct systemctl show --property=Listen --value wellknownd.socket)" = "127.0.0.1:8080 (Stream)" ] ||
    fail "socket not moved: $(in_ct systemctl show --property=Listen --value wellknownd.socket)"
# The host's nginx (Debian's package) in the container's network, with README's block.
mkdir -p "$work/nginx"
block=$(awk '/^```nginx$/ { inside = 1; text = ""; next }
    inside && /^```$/ { inside = 0; if (text ~ /127\.0\.0\.1:8080/) { printf "%s", text; exit } next }
    inside { text = text $0 "\n" }' "$repo/README.md")
cat >"$work/nginx/nginx.conf" <<NGINX
daemon on;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events {}
http {
    access_log off;
    client_body_temp_path $work/nginx/body;
    proxy_temp_path $work/nginx/proxy;
    server {
        listen 127.0.0.1:8443 ssl;
        server_name example.com;
        ssl_certificate $work/certs/cert1.crt;
        ssl_certificate_key $work/certs/cert1.key;
        location / { return 200 "website"; }
$block
    }
}
NGINX
in_net nginx -e "$work/nginx/error.log" -p "$work/nginx" -c "$work/nginx/nginx.conf" || fail "nginx did not start"
nginx_pid=$(cat "$work/nginx/nginx.pid")
host_pids+=("$nginx_pid")
via_nginx() { in_net curl --silent --max-time 5 --cacert "$work/certs/ca.crt" --resolve example.com:8443:127.0.0.1 "$@"; }
headers=$(via_nginx --dump-header - --output "$work/body" https://example.com:8443/.well-known/matrix/client) ||
    fail "no answer through nginx: $(cat "$work/nginx/error.log")"
[ "$(cat "$work/body")" = '{"m.homeserver":{"base_url":"https://matrix.example.com"}}' ] || fail "through nginx: $(cat "$work/body")"
[ "$(grep -ci '^access-control-allow-origin: \*' <<<"$headers")" = 1 ] || fail "CORS through nginx: $headers"
code=$(via_nginx --output "$work/body" --write-out '%{http_code}' https://example.com:8443/.well-known/element/element.json) ||
    fail "no answer through nginx for element.json"
[ "$code" = 404 ] && grep -q M_UNRECOGNIZED "$work/body" || fail "Element's path did not reach wellknownd ($code)"
[ "$(via_nginx https://example.com:8443/about)" = website ] || fail "the website's paths"
kill "$nginx_pid"
ok "behind nginx with README's drop-ins, config and block: the documents with CORS once, Element's path, the website untouched"

# --- purge ------------------------------------------------------------------------------------
in_ct dpkg --purge wellknownd >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg --purge"; }
in_ct dpkg-query --show wellknownd >/dev/null 2>&1 && fail "still installed after purge"
for path in /usr/bin/wellknownd /usr/bin/wellknownd-probe /usr/lib/systemd/system/wellknownd.socket \
    /usr/lib/systemd/system/wellknownd.service /usr/share/wellknownd /usr/share/doc/wellknownd \
    /etc/systemd/system/sockets.target.wants/wellknownd.socket /var/lib/private/wellknownd \
    /var/lib/wellknownd; do
    if in_ct test -e "$path" || in_ct test -L "$path"; then fail "$path left after purge"; fi
done
in_ct pgrep -x wellknownd >/dev/null && fail "a wellknownd process runs after purge"
in_ct test -e /etc/wellknownd/config.toml || fail "purge removed the admin's config"
ok "purge: binaries, units, enablement, ACME state gone; the admin's config.toml kept"

echo "$pass passed, 0 failed"

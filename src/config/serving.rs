//! How the daemon serves, as opposed to what: listeners, limits, health endpoint, metrics,
//! logging, and the reload and shutdown timers.

use std::net::SocketAddr;
use std::time::Duration;

use super::error::Error;
use super::file::{ConfigFile, ListenerFile};
use super::model::{Health, Limits, Listen, ListenAddr, ListenOptions};
use super::net::IpNet;
use super::validator::Validator;

/// certbot renews 30 days before expiry; a check a minute costs two stat() calls per pair.
const CERT_CHECK_DEFAULT: u64 = 60;
/// Below systemd's default TimeoutStopSec (90 s), so a stop never ends in SIGKILL.
const GRACE_DEFAULT: u64 = 10;
/// A client gets this long to finish the TLS handshake (and send its PROXY header): a
/// slowloris that opens connections and trickles its ClientHello would otherwise hold a
/// socket and a task for ever.
const HANDSHAKE_DEFAULT: u64 = 10;
/// A request head must arrive this soon after its first byte (or after the connection
/// opened): closes clients that trickle header bytes (slowloris).
const HEADER_DEFAULT: u64 = 10;
/// Connections with no request in flight are closed after this long: each costs a socket and
/// memory, and one that only sends PINGs would otherwise hold both for ever.
const IDLE_DEFAULT: u64 = 60;
/// Every connection ends (gracefully) after this long, however busy: a client that keeps one
/// connection busy for days holds its slot for days, and a reload's new limits reach old
/// connections only through new ones.
const AGE_DEFAULT: u64 = 3_600;
/// Documents need a few hundred bytes of request; an unbounded head lets one client grow our
/// memory at will. hyper cannot buffer less than 8 KiB.
const HEADER_BYTES_DEFAULT: u64 = 16_384;
const HEADER_BYTES_RANGE: std::ops::RangeInclusive<u64> = 8_192..=1_048_576;
const CONNECTIONS_DEFAULT: u64 = 10_000;
/// One address may hold this many connections: without a per-address cap one host fills
/// every slot at a few bytes a minute each, and every other client waits (remote homeservers
/// then time out and fall back to SRV or port 8448). 256 is far above what a browser, a
/// homeserver or a NAT gateway of ordinary size opens at once.
const PER_IP_DEFAULT: u64 = 256;

pub(super) struct Serving {
    pub listen: Listen,
    pub limits: Limits,
    pub health: Health,
    pub access_log: bool,
    pub certificate_check_secs: u64,
    pub shutdown_grace_secs: u64,
}

pub(super) fn read(v: &Validator, file: &ConfigFile) -> Result<Serving, Error> {
    let https = listeners(v, "listen.https", &file.listen.https)?;
    let http = listeners(v, "listen.http", &file.listen.http)?;
    let redirect_http = listeners(v, "listen.redirect_http", &file.listen.redirect_http)?;
    let metrics = file
        .metrics
        .listen
        .as_deref()
        .map(|s| address(v, "metrics.listen", s))
        .transpose()?;
    let mut all: Vec<SocketAddr> = https
        .iter()
        .chain(&http)
        .chain(&redirect_http)
        .map(|l| l.address)
        .chain(metrics)
        .collect();
    all.retain(|a| a.port() != 0);
    all.sort();
    if let Some(w) = all.windows(2).find(|w| w[0] == w[1]) {
        return Err(v.err("listen", format!("{} is listed twice", w[0])));
    }
    let l = &file.limits;
    let limits = Limits {
        handshake_timeout: seconds(
            v,
            "limits.handshake_timeout_secs",
            l.handshake_timeout_secs,
            HANDSHAKE_DEFAULT,
            1..=3_600,
        )?,
        header_timeout: seconds(
            v,
            "limits.header_timeout_secs",
            l.header_timeout_secs,
            HEADER_DEFAULT,
            1..=3_600,
        )?,
        idle_timeout: seconds(
            v,
            "limits.idle_timeout_secs",
            l.idle_timeout_secs,
            IDLE_DEFAULT,
            1..=86_400,
        )?,
        max_connection_age: seconds(
            v,
            "limits.max_connection_age_secs",
            l.max_connection_age_secs,
            AGE_DEFAULT,
            1..=604_800,
        )?,
        max_header_bytes: number(
            v,
            "limits.max_header_bytes",
            l.max_header_bytes,
            HEADER_BYTES_DEFAULT,
            HEADER_BYTES_RANGE,
        )?,
        max_connections: number(
            v,
            "limits.max_connections",
            l.max_connections,
            CONNECTIONS_DEFAULT,
            1..=1_000_000,
        )?,
        max_connections_per_ip: number(
            v,
            "limits.max_connections_per_ip",
            l.max_connections_per_ip,
            PER_IP_DEFAULT,
            1..=1_000_000,
        )?,
    };
    let health = Health {
        path: health_path(v, file.health.path.as_deref())?,
        shutdown_delay: seconds(
            v,
            "health.shutdown_delay_secs",
            file.health.shutdown_delay_secs,
            0,
            0..=3_600,
        )?,
    };
    Ok(Serving {
        listen: Listen {
            https,
            http,
            redirect_http,
            trusted_proxies: file
                .listen
                .trusted_proxies
                .iter()
                .enumerate()
                .map(|(i, s)| v.check(&format!("listen.trusted_proxies[{i}]"), IpNet::parse(s)))
                .collect::<Result<_, _>>()?,
            metrics,
        },
        limits,
        health,
        access_log: file.log.access,
        certificate_check_secs: number(
            v,
            "certificate_check_secs",
            file.certificate_check_secs,
            CERT_CHECK_DEFAULT,
            0..=86_400,
        )? as u64,
        shutdown_grace_secs: number(
            v,
            "shutdown_grace_secs",
            file.shutdown_grace_secs,
            GRACE_DEFAULT,
            0..=3_600,
        )? as u64,
    })
}

fn address(v: &Validator, key: &str, s: &str) -> Result<SocketAddr, Error> {
    s.parse().map_err(|_| {
        v.err(
            key,
            format!("`{s}` is not a socket address: write e.g. `[::]:443` or `0.0.0.0:443`"),
        )
    })
}

fn listeners(v: &Validator, key: &str, list: &[ListenerFile]) -> Result<Vec<ListenAddr>, Error> {
    list.iter()
        .enumerate()
        .map(|(i, l)| {
            let key = format!("{key}[{i}]");
            Ok(match l {
                ListenerFile::Address(s) => ListenAddr {
                    address: address(v, &key, s)?,
                    options: ListenOptions::default(),
                },
                ListenerFile::Table(t) => ListenAddr {
                    address: address(v, &format!("{key}.address"), &t.address)?,
                    options: ListenOptions {
                        proxy_protocol: t.proxy_protocol,
                        per_ip_limit: t.per_ip_limit.unwrap_or(true),
                    },
                },
            })
        })
        .collect()
}

fn number(
    v: &Validator,
    key: &str,
    value: Option<u64>,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<usize, Error> {
    match value.unwrap_or(default) {
        n if range.contains(&n) => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
        n => Err(v.err(
            key,
            format!("{n} is outside {}..={}", range.start(), range.end()),
        )),
    }
}

fn seconds(
    v: &Validator,
    key: &str,
    value: Option<u64>,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<Duration, Error> {
    number(v, key, value, default, range).map(|n| Duration::from_secs(n as u64))
}

/// `/healthz` by default; `""` turns it off; it must stay outside `/.well-known/`.
fn health_path(v: &Validator, path: Option<&str>) -> Result<Option<String>, Error> {
    let path = path.unwrap_or("/healthz");
    if path.is_empty() {
        return Ok(None);
    }
    let bad = if !path.starts_with('/') {
        "must start with `/`"
    } else if path.starts_with("/.well-known/") || "/.well-known/".starts_with(path) {
        "must be outside /.well-known/, where the documents live"
    } else if path.contains(['?', '#']) || path.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        "must be a plain path, without query, fragment or spaces"
    } else {
        return Ok(Some(path.to_owned()));
    };
    Err(v.err("health.path", format!("`{path}` {bad}")))
}

//! Server discovery exactly as the spec has remote servers do it (IP literal, explicit port,
//! well-known, `_matrix-fed._tcp` SRV, deprecated `_matrix._tcp` SRV, port 8448), then TLS,
//! `/_matrix/federation/v1/version` and the signed keys at the place it leads to.

use http::Method;
use serde_json::Value;

use super::dns::Resolve;
use super::fetch::{Error, Reply, Site};
use super::report::{Check, Status};
use super::{Probe, keys};
use crate::config::names;

const GROUP: &str = "federation";

/// Where discovery leads: what to resolve and connect to, and whom TLS and `Host` name.
struct Route {
    host: String,
    port: u16,
    site: Site,
    /// Nothing said where: remote servers try port 8448.
    fell_back: bool,
    deprecated_srv: bool,
}

/// Discovers the homeserver from `m_server` (the well-known's, if fetched) and checks it;
/// returns the steps taken and the checks.
pub async fn check<R: Resolve>(
    p: &Probe<R>,
    m_server: Option<String>,
) -> (Vec<String>, Vec<Check>) {
    let mut path = Vec::new();
    let route = discover(p, m_server, &mut path).await;
    (path, reach(p, &route).await)
}

async fn discover<R: Resolve>(
    p: &Probe<R>,
    m_server: Option<String>,
    path: &mut Vec<String>,
) -> Route {
    let delegated = match m_server.as_deref().map(|s| (s, names::server_name(s))) {
        Some((s, Ok(hp))) => {
            path.push(format!("well-known: m.server is `{s}`"));
            Some((hp.host.to_ascii_lowercase(), hp.port))
        }
        Some((s, Err(_))) => {
            path.push(format!(
                "well-known: m.server `{s}` is invalid, so remote servers ignore it"
            ));
            None
        }
        None => {
            path.push("well-known: no usable /.well-known/matrix/server".into());
            None
        }
    };
    let (host, port) = delegated.unwrap_or((p.domain.clone(), None));
    let site = |name: &str, header: String| Site {
        tls: true,
        name: name.to_owned(),
        host_header: header,
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let literal = bare.parse::<std::net::IpAddr>().is_ok();
    if literal || port.is_some() {
        let kind = if literal {
            "IP literal"
        } else {
            "explicit port"
        };
        let header = port.map_or(host.clone(), |n| format!("{host}:{n}"));
        let port = port.unwrap_or(8448);
        path.push(format!("{kind}: connect to {host}:{port}"));
        return Route {
            site: site(bare, header),
            host,
            port,
            fell_back: false,
            deprecated_srv: false,
        };
    }
    for (srv, deprecated) in [("_matrix-fed._tcp", false), ("_matrix._tcp", true)] {
        let name = format!("{srv}.{host}");
        match p.srv(&name).await {
            Ok(records) => {
                if let Some(r) = records.first() {
                    path.push(format!("SRV {name} -> {}:{}", r.target, r.port));
                    let header = host.clone();
                    return Route {
                        site: site(&host, header),
                        host: r.target.clone(),
                        port: r.port,
                        fell_back: false,
                        deprecated_srv: deprecated,
                    };
                }
                path.push(format!("SRV {name}: no record"));
            }
            Err(e) => path.push(format!("SRV {name}: {e}")),
        }
    }
    path.push(format!("no port and no SRV record: connect to {host}:8448"));
    Route {
        site: site(&host, host.clone()),
        host,
        port: 8448,
        fell_back: true,
        deprecated_srv: false,
    }
}

const HINT_FALLBACK: &str = "no port in m.server and no SRV record: remote servers will connect to port 8448; write the port in m.server (e.g. `matrix.example.com:443`) or open port 8448";
const HINT_DEPRECATED: &str =
    "only the deprecated _matrix._tcp SRV record exists: add the same record as _matrix-fed._tcp";
const HINT_VERSION: &str = "GET /_matrix/federation/v1/version must reach the homeserver: is the proxy forwarding /_matrix/ to it?";
const VERSION: &str = "/_matrix/federation/v1/version";
const KEYS: &str = "/_matrix/key/v2/server";

async fn reach<R: Resolve>(p: &Probe<R>, route: &Route) -> Vec<Check> {
    let target = format!("{}:{}", route.host, route.port);
    let skip = |id: &str, why: &str| Check::skip(GROUP, id, format!("not checked: {why}"));
    let addrs = match p.addrs(&route.host, route.port).await {
        Ok(a) => a,
        Err(e) => {
            let hint = match route.fell_back {
                true => HINT_FALLBACK.to_owned(),
                false => format!(
                    "remote servers cannot find `{}`: give it A or AAAA records",
                    route.host
                ),
            };
            let c = Check::fail(GROUP, "federation.resolve", format!("{target}: {e}"), hint);
            let rest = ["federation.tls", "federation.version", "federation.keys"];
            return [vec![c], rest.map(|id| skip(id, "no address")).to_vec()].concat();
        }
    };
    let list: Vec<String> = addrs.iter().map(ToString::to_string).collect();
    let resolved = format!("{target} -> {}", list.join(", "));
    let resolve = match route.deprecated_srv {
        true => Check::warn(GROUP, "federation.resolve", resolved, HINT_DEPRECATED),
        false => Check::pass(GROUP, "federation.resolve", resolved),
    };
    let get = |path: &'static str| p.request_any(&addrs, &route.site, Method::GET, path, &[]);
    let (version, keys) = tokio::join!(get(VERSION), get(KEYS));
    let tls = tls_check(version.as_ref().err(), route, &target);
    if tls.status == Status::Fail {
        let why = "federation.tls failed";
        return vec![
            resolve,
            tls,
            skip("federation.version", why),
            skip("federation.keys", why),
        ];
    }
    vec![
        resolve,
        tls,
        version_check(version),
        keys_check(keys, &p.domain),
    ]
}

/// Whether TLS got through, judged from the first request's error.
fn tls_check(error: Option<&Error>, route: &Route, target: &str) -> Check {
    let id = "federation.tls";
    let name = &route.site.name;
    match error {
        None | Some(Error::Http(_)) => {
            Check::pass(GROUP, id, format!("certificate valid for `{name}`"))
        }
        Some(e @ Error::Tls(_)) => Check::fail(
            GROUP,
            id,
            format!("{target}: {e}"),
            format!(
                "the certificate at {target} must cover `{name}` (the delegated name with well-known; the domain itself with SRV alone) and come from a public CA"
            ),
        ),
        Some(e) if route.fell_back => {
            Check::fail(GROUP, id, format!("{target}: {e}"), HINT_FALLBACK)
        }
        Some(e) => Check::fail(
            GROUP,
            id,
            format!("{target}: {e}"),
            format!(
                "remote servers cannot reach {target}: check the firewall and that the homeserver (or its proxy) listens there"
            ),
        ),
    }
}

/// The reply if it is a 200, else what went wrong with `GET path`.
fn ok(r: Result<Reply, Error>, path: &str) -> Result<Reply, String> {
    match r {
        Ok(reply) if reply.status == 200 => Ok(reply),
        Ok(reply) => Err(format!("GET {path}: status {}", reply.status.as_u16())),
        Err(e) => Err(format!("GET {path}: {e}")),
    }
}

fn version_check(r: Result<Reply, Error>) -> Check {
    let id = "federation.version";
    let reply = match ok(r, VERSION) {
        Ok(reply) => reply,
        Err(detail) => return Check::fail(GROUP, id, detail, HINT_VERSION),
    };
    let v: Value = serde_json::from_slice(&reply.body).unwrap_or_default();
    match (
        v["server"]["name"].as_str(),
        v["server"]["version"].as_str(),
    ) {
        (Some(name), version) => {
            Check::pass(GROUP, id, format!("{name} {}", version.unwrap_or("")))
        }
        _ => Check::fail(
            GROUP,
            id,
            "200, but no `server.name` in the JSON",
            HINT_VERSION,
        ),
    }
}

fn keys_check(r: Result<Reply, Error>, domain: &str) -> Check {
    let id = "federation.keys";
    let hint = format!(
        "remote servers fetch the signing keys here and drop events they cannot verify: the homeserver's server_name must be `{domain}` and its signing key intact"
    );
    let result = ok(r, KEYS)
        .and_then(|reply| keys::verify(&reply.body, domain, crate::civil::now_secs() * 1000));
    match result {
        Ok(v) => {
            let until = crate::civil::format_utc(v.valid_until_ms / 1000);
            let detail = format!("signed by {} for `{domain}`, valid until {until}", v.key_id);
            Check::pass(GROUP, id, detail)
        }
        Err(e) => Check::fail(GROUP, id, e, hint),
    }
}

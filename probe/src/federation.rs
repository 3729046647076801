//! Server discovery exactly as the spec has remote servers do it (IP literal, explicit port,
//! well-known, `_matrix-fed._tcp` SRV, deprecated `_matrix._tcp` SRV, port 8448), then TLS,
//! `/_matrix/federation/v1/version` and the signed keys at the place it leads to.

use http::Method;
use serde_json::Value;

use super::dns::Resolve;
use super::fetch::{Error, Reply, Site};
use super::report::{Check, Status};
use super::{Probe, keys};
use wellknownd_shared::names;

const GROUP: &str = "federation";

/// Where discovery leads: what to resolve and connect to, in order, and whom TLS and `Host`
/// name.
struct Route {
    /// Every SRV target in priority and weight order (one entry without SRV): remote servers
    /// try the next when one does not answer.
    targets: Vec<(String, u16)>,
    site: Site,
    /// Nothing said where: remote servers try port 8448.
    fell_back: bool,
    deprecated_srv: bool,
    /// Discovery ends here, with why and what to do: an SRV `.` target (no service), or DNS
    /// that did not answer (remote servers retry; they do not fall back to port 8448).
    unavailable: Option<(String, String)>,
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
            targets: vec![(host, port)],
            fell_back: false,
            deprecated_srv: false,
            unavailable: None,
        };
    }
    let mut failed = Vec::new();
    for (srv, deprecated) in [("_matrix-fed._tcp", false), ("_matrix._tcp", true)] {
        let name = format!("{srv}.{host}");
        let records = match p.srv(&name).await {
            Ok(records) if records.is_empty() => {
                path.push(format!("SRV {name}: no record"));
                continue;
            }
            Ok(records) => records,
            Err(e) => {
                path.push(format!("SRV {name}: DNS failed: {e}"));
                failed.push(format!("{name}: {e}"));
                continue;
            }
        };
        let mut route = Route {
            site: site(&host, host.clone()),
            targets: Vec::new(),
            fell_back: false,
            deprecated_srv: deprecated,
            unavailable: None,
        };
        // RFC 2782: a lone `.` target says the service is decidedly not available here.
        for r in records.iter().filter(|r| !r.target.is_empty()) {
            path.push(format!("SRV {name} -> {}:{}", r.target, r.port));
            route.targets.push((r.target.clone(), r.port));
        }
        if route.targets.is_empty() {
            path.push(format!("SRV {name}: target `.`, no service"));
            route.unavailable = Some((
                format!(
                    "SRV {name} has the target `.`: federation is decidedly not available here"
                ),
                format!(
                    "remote servers stop at this record: remove it, or point it at the homeserver (e.g. `10 5 443 matrix.{host}.`)"
                ),
            ));
        }
        return route;
    }
    if !failed.is_empty() {
        path.push("DNS failed: remote servers cannot tell whether an SRV record exists".into());
        return Route {
            site: site(&host, host.clone()),
            targets: Vec::new(),
            fell_back: false,
            deprecated_srv: false,
            unavailable: Some((
                format!("DNS failed for {}", failed.join("; ")),
                "remote servers retry a failed look-up instead of falling back to port 8448: check the domain's name servers (and this machine's resolver)".into(),
            )),
        };
    }
    path.push(format!("no port and no SRV record: connect to {host}:8448"));
    Route {
        site: site(&host, host.clone()),
        targets: vec![(host, 8448)],
        fell_back: true,
        deprecated_srv: false,
        unavailable: None,
    }
}

const HINT_FALLBACK: &str = "no port in m.server and no SRV record: remote servers will connect to port 8448; write the port in m.server (e.g. `matrix.example.com:443`) or open port 8448";
const HINT_DEPRECATED: &str =
    "only the deprecated _matrix._tcp SRV record exists: add the same record as _matrix-fed._tcp";
const HINT_VERSION: &str = "GET /_matrix/federation/v1/version must reach the homeserver: is the proxy forwarding /_matrix/ to it?";
const VERSION: &str = "/_matrix/federation/v1/version";
const KEYS: &str = "/_matrix/key/v2/server";

async fn reach<R: Resolve>(p: &Probe<R>, route: &Route) -> Vec<Check> {
    let skip = |id: &str, why: &str| Check::skip(GROUP, id, format!("not checked: {why}"));
    let rest = ["federation.tls", "federation.version", "federation.keys"];
    if let Some((detail, hint)) = &route.unavailable {
        let c = Check::fail(GROUP, "federation.resolve", detail.clone(), hint.clone());
        return [
            vec![c],
            rest.map(|id| skip(id, "no server to reach")).to_vec(),
        ]
        .concat();
    }
    let names: Vec<String> = route
        .targets
        .iter()
        .map(|(h, p)| format!("{h}:{p}"))
        .collect();
    let target = names.join(", ");
    let (mut addrs, mut errors) = (Vec::new(), Vec::new());
    for (host, port) in &route.targets {
        match p.addrs(host, *port).await {
            Ok(a) => addrs.extend(a),
            Err(e) => errors.push(format!("{host}:{port}: {e}")),
        }
    }
    addrs.truncate(super::MAX_ADDRESSES);
    if addrs.is_empty() {
        let hint = match route.fell_back {
            true => HINT_FALLBACK.to_owned(),
            false => format!("remote servers cannot find {target}: give it A or AAAA records"),
        };
        let c = Check::fail(GROUP, "federation.resolve", errors.join("; "), hint);
        return [vec![c], rest.map(|id| skip(id, "no address")).to_vec()].concat();
    }
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
    let result = ok(r, KEYS).and_then(|reply| {
        keys::verify(
            &reply.body,
            domain,
            wellknownd_shared::civil::now_secs() * 1000,
        )
    });
    match result {
        Ok(v) => {
            let until = wellknownd_shared::civil::format_utc(v.valid_until_ms / 1000);
            let detail = format!("signed by {} for `{domain}`, valid until {until}", v.key_id);
            Check::pass(GROUP, id, detail)
        }
        Err(e) => Check::fail(GROUP, id, e, hint),
    }
}

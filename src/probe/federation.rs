//! Server discovery exactly as the spec has remote servers do it (IP literal, explicit port,
//! well-known, `_matrix-fed._tcp` SRV, deprecated `_matrix._tcp` SRV, port 8448), then TLS,
//! `/_matrix/federation/v1/version` and the signed keys at the place it leads to.

use http::Method;
use serde_json::Value;

use super::dns::Resolve;
use super::fetch::{Error, Site};
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

async fn reach<R: Resolve>(p: &Probe<R>, route: &Route) -> Vec<Check> {
    let target = format!("{}:{}", route.host, route.port);
    let fallback_hint = "no port in m.server and no SRV record: remote servers will connect to port 8448; write the port in m.server (e.g. `matrix.example.com:443`) or open port 8448";
    let skip =
        |id: &str, why: &str| Check::new(GROUP, id, Status::Skip, format!("not checked: {why}"));
    let addrs = match p.addrs(&route.host, route.port).await {
        Ok(a) => a,
        Err(e) => {
            let mut c = Check::new(
                GROUP,
                "federation.resolve",
                Status::Fail,
                format!("{target}: {e}"),
            );
            if route.fell_back {
                c = c.hint(fallback_hint);
            }
            return vec![
                c,
                skip("federation.tls", "no address"),
                skip("federation.version", "no address"),
                skip("federation.keys", "no address"),
            ];
        }
    };
    let list: Vec<String> = addrs.iter().map(ToString::to_string).collect();
    let resolved = format!("{target} -> {}", list.join(", "));
    let resolve = match route.deprecated_srv {
        true => Check::new(GROUP, "federation.resolve", Status::Warn, resolved).hint("only the deprecated _matrix._tcp SRV record exists: add the same record as _matrix-fed._tcp"),
        false => Check::new(GROUP, "federation.resolve", Status::Pass, resolved),
    };
    let get = |path: &'static str| p.request_any(&addrs, &route.site, Method::GET, path, &[]);
    let (version, keys) = tokio::join!(
        get("/_matrix/federation/v1/version"),
        get("/_matrix/key/v2/server")
    );
    let tls = match &version {
        Ok(_) | Err(Error::Http(_)) => Check::new(GROUP, "federation.tls", Status::Pass, format!("certificate valid for `{}`", route.site.name)),
        Err(e @ Error::Tls(_)) => Check::new(GROUP, "federation.tls", Status::Fail, format!("{target}: {e}")).hint(format!(
            "the certificate at {target} must cover `{}` (the delegated name with well-known; the domain itself with SRV alone) and come from a public CA",
            route.site.name
        )),
        Err(e) => {
            let c = Check::new(GROUP, "federation.tls", Status::Fail, format!("{target}: {e}"));
            match route.fell_back {
                true => c.hint(fallback_hint),
                false => c.hint(format!("remote servers cannot reach {target}: check the firewall and that the homeserver (or its proxy) listens there")),
            }
        }
    };
    if tls.status == Status::Fail {
        return vec![
            resolve,
            tls,
            skip("federation.version", "federation.tls failed"),
            skip("federation.keys", "federation.tls failed"),
        ];
    }
    vec![
        resolve,
        tls,
        version_check(version),
        keys_check(keys, &p.domain),
    ]
}

fn version_check(r: Result<super::fetch::Reply, Error>) -> Check {
    let id = "federation.version";
    let hint = "GET /_matrix/federation/v1/version must reach the homeserver: is the proxy forwarding /_matrix/ to it?";
    let reply = match r {
        Ok(reply) if reply.status == 200 => reply,
        Ok(reply) => {
            return Check::new(
                GROUP,
                id,
                Status::Fail,
                format!(
                    "GET /_matrix/federation/v1/version: status {}",
                    reply.status.as_u16()
                ),
            )
            .hint(hint);
        }
        Err(e) => {
            let detail = format!("GET /_matrix/federation/v1/version: {e}");
            return Check::new(GROUP, id, Status::Fail, detail).hint(hint);
        }
    };
    let v: Value = serde_json::from_slice(&reply.body).unwrap_or_default();
    match (
        v["server"]["name"].as_str(),
        v["server"]["version"].as_str(),
    ) {
        (Some(name), version) => Check::new(
            GROUP,
            id,
            Status::Pass,
            format!("{name} {}", version.unwrap_or("")),
        ),
        _ => Check::new(
            GROUP,
            id,
            Status::Fail,
            "200, but no `server.name` in the JSON",
        )
        .hint(hint),
    }
}

fn keys_check(r: Result<super::fetch::Reply, Error>, domain: &str) -> Check {
    let id = "federation.keys";
    let hint = format!(
        "remote servers fetch the signing keys here and drop events they cannot verify: the homeserver's server_name must be `{domain}` and its signing key intact"
    );
    let reply = match r {
        Ok(reply) if reply.status == 200 => reply,
        Ok(reply) => {
            return Check::new(
                GROUP,
                id,
                Status::Fail,
                format!(
                    "GET /_matrix/key/v2/server: status {}",
                    reply.status.as_u16()
                ),
            )
            .hint(hint);
        }
        Err(e) => {
            return Check::new(
                GROUP,
                id,
                Status::Fail,
                format!("GET /_matrix/key/v2/server: {e}"),
            )
            .hint(hint);
        }
    };
    match keys::verify(&reply.body, domain, crate::civil::now_secs() * 1000) {
        Ok(v) => Check::new(
            GROUP,
            id,
            Status::Pass,
            format!(
                "signed by {} for `{domain}`, valid until {}",
                v.key_id,
                crate::civil::format_utc(v.valid_until_ms / 1000)
            ),
        ),
        Err(e) => Check::new(GROUP, id, Status::Fail, e).hint(hint),
    }
}

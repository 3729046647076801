//! What Element does next with the client document: `GET <base_url>/_matrix/client/versions`,
//! cross-origin, so the answer must carry CORS headers.

use serde_json::Value;

use super::Probe;
use super::dns::Resolve;
use super::fetch::Error;
use super::report::Check;
use super::url::Url;
use super::wellknown::{ORIGIN, allows_origin};

const GROUP: &str = "client";

const HINT_NO_CORS: &str = "no CORS header: Element Web in a browser will not be able to log in; the homeserver (or its proxy) must send `Access-Control-Allow-Origin: *`";

pub async fn check<R: Resolve>(p: &Probe<R>, base_url: Option<String>) -> Vec<Check> {
    let Some(url) = base_url.as_deref().and_then(|b| Url::parse(b).ok()) else {
        let why = "not checked: no usable m.homeserver.base_url";
        return vec![
            Check::skip(GROUP, "client.versions", why),
            Check::skip(GROUP, "client.cors", why),
        ];
    };
    let url = url.with_path("/_matrix/client/versions");
    let hint = format!(
        "Element checks {url} after reading the client document: the proxy must forward /_matrix/ to the homeserver"
    );
    let reply = match p.follow(url.clone(), &[ORIGIN]).await.end {
        Ok((_, reply)) => reply,
        Err(e) => {
            let hint = match e {
                Error::Tls(_) => format!(
                    "the certificate at {} must cover `{}` and come from a public CA: browsers and apps refuse it otherwise",
                    url.authority(),
                    url.host
                ),
                _ => hint,
            };
            let fail = Check::fail(GROUP, "client.versions", format!("{url}: {e}"), hint);
            return vec![
                fail,
                Check::skip(GROUP, "client.cors", "not checked: client.versions failed"),
            ];
        }
    };
    let v: Value = serde_json::from_slice(&reply.body).unwrap_or_default();
    let versions: Vec<&str> = v["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let status = reply.status.as_u16();
    let check = match status == 200 && !versions.is_empty() {
        true => Check::pass(
            GROUP,
            "client.versions",
            format!("{url}: {}", versions.join(" ")),
        ),
        false => {
            let detail = format!("{url}: status {status}, no `versions` array");
            Check::fail(GROUP, "client.versions", detail, hint)
        }
    };
    let cors = match reply.one("access-control-allow-origin") {
        Some(o) if allows_origin(&o) => Check::pass(
            GROUP,
            "client.cors",
            format!("Access-Control-Allow-Origin: {o}"),
        ),
        _ => {
            let detail = format!("{url}: no Access-Control-Allow-Origin");
            Check::fail(GROUP, "client.cors", detail, HINT_NO_CORS)
        }
    };
    vec![check, cors]
}

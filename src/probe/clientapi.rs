//! What Element does next with the client document: `GET <base_url>/_matrix/client/versions`,
//! cross-origin, so the answer must carry CORS headers.

use serde_json::Value;

use super::Probe;
use super::dns::Resolve;
use super::fetch::Error;
use super::report::{Check, Status};
use super::url::Url;
use super::wellknown::ORIGIN;

const GROUP: &str = "client";

pub async fn check<R: Resolve>(p: &Probe<R>, base_url: Option<String>) -> Vec<Check> {
    let skip = |id: &str| {
        Check::new(
            GROUP,
            id,
            Status::Skip,
            "not checked: no usable m.homeserver.base_url",
        )
    };
    let Some(url) = base_url.as_deref().and_then(|b| Url::parse(b).ok()) else {
        return vec![skip("client.versions"), skip("client.cors")];
    };
    let url = url.with_path("/_matrix/client/versions");
    let hint = format!(
        "Element checks {url} after reading the client document: the proxy must forward /_matrix/ to the homeserver"
    );
    let followed = p.follow(url.clone(), &[ORIGIN]).await;
    let reply = match followed.end {
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
            let fail = Check::new(
                GROUP,
                "client.versions",
                Status::Fail,
                format!("{url}: {e}"),
            )
            .hint(hint);
            return vec![
                fail,
                Check::new(
                    GROUP,
                    "client.cors",
                    Status::Skip,
                    "not checked: client.versions failed",
                ),
            ];
        }
    };
    let v: Value = serde_json::from_slice(&reply.body).unwrap_or_default();
    let versions: Option<Vec<&str>> = v["versions"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect());
    let status = reply.status.as_u16();
    let check = match versions {
        Some(list) if status == 200 && !list.is_empty() => Check::new(
            GROUP,
            "client.versions",
            Status::Pass,
            format!("{url}: {}", list.join(" ")),
        ),
        _ => Check::new(
            GROUP,
            "client.versions",
            Status::Fail,
            format!("{url}: status {status}, no `versions` array"),
        )
        .hint(hint),
    };
    let cors = match reply.one("access-control-allow-origin") {
        Some(o) if o == "*" || o == ORIGIN.1 => Check::new(GROUP, "client.cors", Status::Pass, format!("Access-Control-Allow-Origin: {o}")),
        _ => Check::new(GROUP, "client.cors", Status::Fail, format!("{url}: no Access-Control-Allow-Origin"))
            .hint("no CORS header: Element Web in a browser will not be able to log in; the homeserver (or its proxy) must send `Access-Control-Allow-Origin: *`"),
    };
    vec![check, cors]
}

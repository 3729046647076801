//! What Element does next with the client document: `GET <base_url>/_matrix/client/versions`,
//! cross-origin, so the answer must carry CORS headers.

use serde_json::Value;

use super::Probe;
use super::dns::Resolve;
use super::fetch::{Error, Reply};
use super::report::Check;
use super::url::Url;
use super::wellknown::{ORIGIN, allows_origin};

const GROUP: &str = "client";

const HINT_NO_CORS: &str = "no CORS header: Element Web in a browser will not be able to log in; the homeserver (or its proxy) must send `Access-Control-Allow-Origin: *`";

/// What one client API URL answered (after redirects), kept for the consumers' verdicts.
pub struct Answer {
    pub url: Url,
    pub end: Result<Reply, Error>,
}

impl Answer {
    /// GET `url` as a browser on [`ORIGIN`] would.
    pub async fn get<R: Resolve>(p: &Probe<R>, url: Url) -> Answer {
        let end = p.follow(url.clone(), &[ORIGIN]).await.end;
        Answer {
            url,
            end: end.map(|(_, reply)| reply),
        }
    }

    /// The `versions` a 200 lists, or what was wrong instead.
    pub fn versions(&self) -> Result<Vec<String>, String> {
        let reply = self
            .end
            .as_ref()
            .map_err(|e| format!("{}: {}", self.url, e.briefly()))?;
        let v: Value = serde_json::from_slice(&reply.body).unwrap_or_default();
        let versions: Vec<String> = v["versions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
        let status = reply.status.as_u16();
        match status == 200 && !versions.is_empty() {
            true => Ok(versions),
            false => Err(format!(
                "{}: status {status}, no `versions` array",
                self.url
            )),
        }
    }

    /// A 200, or what came instead.
    pub fn ok(&self) -> Result<(), String> {
        match &self.end {
            Ok(reply) if reply.status == 200 => Ok(()),
            Ok(reply) => Err(format!("{}: status {}", self.url, reply.status.as_u16())),
            Err(e) => Err(format!("{}: {}", self.url, e.briefly())),
        }
    }

    /// Whether a page on [`ORIGIN`] may read the answer.
    pub fn cors(&self) -> bool {
        let origin = self
            .end
            .as_ref()
            .ok()
            .and_then(|r| r.one("access-control-allow-origin"));
        origin.is_some_and(|o| allows_origin(&o))
    }
}

/// `/versions` at the base URL, with its checks; the answer, when there was a URL to ask.
pub async fn check<R: Resolve>(
    p: &Probe<R>,
    base_url: Option<String>,
) -> (Vec<Check>, Option<Answer>) {
    let Some(url) = base_url.as_deref().and_then(|b| Url::parse(b).ok()) else {
        let why = "not checked: no usable m.homeserver.base_url";
        let skipped = vec![
            Check::skip(GROUP, "client.versions", why),
            Check::skip(GROUP, "client.cors", why),
        ];
        return (skipped, None);
    };
    let answer = Answer::get(p, url.with_path("/_matrix/client/versions")).await;
    (checks(&answer), Some(answer))
}

fn checks(answer: &Answer) -> Vec<Check> {
    let url = &answer.url;
    let hint = format!(
        "Element checks {url} after reading the client document: the proxy must forward /_matrix/ to the homeserver"
    );
    let reply = match &answer.end {
        Ok(reply) => reply,
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
    let check = match answer.versions() {
        Ok(versions) => Check::pass(
            GROUP,
            "client.versions",
            format!("{url}: {}", versions.join(" ")),
        ),
        Err(detail) => Check::fail(GROUP, "client.versions", detail, hint),
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

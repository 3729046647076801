//! One well-known document fetched from `https://DOMAIN`, as Synapse and Element fetch it:
//! redirects, status, CORS, Content-Type, caching, size, JSON and shape.

use serde_json::Value;

use super::dns::Resolve;
use super::fetch::{Error, Reply};
use super::report::Check;
use super::url::Url;
use super::{Followed, Probe, shape};
use wellknownd_shared::document::Document;

pub const SERVER: Document = Document::Server;
pub const CLIENT: Document = Document::Client;
pub const SUPPORT: Document = Document::Support;
pub const ELEMENT: Document = Document::Element;
pub const POLICY_SERVER: Document = Document::PolicyServer;

/// Documents that most deployments do not publish: a 404 is one PASS line, nothing else.
fn optional(doc: Document) -> bool {
    matches!(doc, Document::Element | Document::PolicyServer)
}

/// The strictest consumer's cap: tuwunel refuses server documents over 12 288 bytes.
pub const MAX_BODY: usize = 12 * 1024;

/// A browser's Origin, so servers that only add CORS for cross-origin requests show it.
pub const ORIGIN: (&str, &str) = ("origin", "https://app.element.io");

/// Whether an `Access-Control-Allow-Origin` value lets a page at [`ORIGIN`] read the answer.
pub fn allows_origin(value: &str) -> bool {
    value == "*" || value == ORIGIN.1
}

const GROUP: &str = "well-known";

/// The checks that need a response, in report order.
const AFTER_STATUS: [&str; 6] = ["cors", "content_type", "cache", "size", "json", "shape"];

/// One document as fetched: its checks, the JSON object it holds (if it is one), and what
/// the fetch saw (for the consumers' verdicts).
pub struct Fetched {
    pub checks: Vec<Check>,
    pub value: Option<Value>,
    pub followed: Followed,
}

/// Fetches `doc` and checks it.
pub async fn check<R: Resolve>(p: &Probe<R>, doc: Document) -> Fetched {
    let url = Url::https(&p.domain, doc.path());
    let followed = p.follow(url.clone(), &[ORIGIN]).await;
    let (checks, value) = judge(p, doc, &url, &followed);
    Fetched {
        checks,
        value,
        followed,
    }
}

fn judge<R>(
    p: &Probe<R>,
    doc: Document,
    url: &Url,
    followed: &Followed,
) -> (Vec<Check>, Option<Value>) {
    let name = doc.name();
    let id = |what: &str| format!("{name}.{what}");
    let skip = |what: &str, why: &str| Check::skip(GROUP, id(what), why);
    let mut checks = vec![];
    let (end, reply) = match &followed.end {
        Ok(end) => end,
        Err(e) => {
            let detail = format!("{url}: {e}");
            let hint = match e {
                Error::Tls(_) => format!(
                    "serve a certificate for `{}` from a public CA, with its intermediate (certbot's fullchain.pem)",
                    p.domain
                ),
                _ => unreachable_hint(doc),
            };
            checks.push(Check::fail(GROUP, id("status"), detail, hint));
            let why = format!("not checked: no response to {name}");
            checks.push(match followed.hops.is_empty() {
                true => skip("redirects", &why),
                false => redirects(name, followed),
            });
            checks.extend(AFTER_STATUS.map(|what| skip(what, &why)));
            return (checks, None);
        }
    };
    if optional(doc) && reply.status == 404 {
        let detail = format!("404 from {end}: not published (optional)");
        return (vec![Check::pass(GROUP, id("status"), detail)], None);
    }
    checks.push(status(doc, end, reply));
    checks.push(redirects(name, followed));
    checks.push(cors(name, reply));
    if reply.status != 200 {
        let why = format!("not checked: {name}.status is {}", reply.status.as_u16());
        checks.extend(AFTER_STATUS[1..].iter().map(|what| skip(what, &why)));
        return (checks, None);
    }
    checks.push(content_type(name, reply));
    checks.push(cache(name, reply));
    checks.push(size(name, reply));
    let (json, value) = json(name, reply);
    checks.push(json);
    checks.push(match &value {
        Some(v) => shape::check(doc, v, GROUP, id("shape")),
        None => skip("shape", &format!("not checked: {name}.json failed")),
    });
    (checks, value)
}

const HINT_NO_SERVER: &str = "no server delegation: remote servers will look up SRV records for the domain, then connect to port 8448 on it";
const HINT_NO_CLIENT: &str =
    "Element cannot discover the homeserver from the domain: users will have to type its URL";
const HINT_STATUS: &str = "serve the document with status 200; Synapse treats a 404 or invalid JSON as a failure cached for an hour";
const HINT_NO_SUPPORT: &str = "optional: publish one so users and other admins know whom to contact (`[domain.support]` in wellknownd)";
const HINT_UNREACHABLE: &str = "check DNS, the firewall and that something listens on port 443";
const HINT_NO_CORS: &str = "no CORS header: Element Web in a browser will not be able to log in; send `Access-Control-Allow-Origin: *` on every response, errors included";
const HINT_CORS_VALUES: &str = "send exactly one `Access-Control-Allow-Origin: *`; browsers reject several values or another origin";
const HINT_TYPE: &str = "send `Content-Type: application/json` (nginx: `default_type application/json;` in the location)";
const HINT_TWO_TYPES: &str = "send exactly one Content-Type: in nginx use `default_type application/json;` instead of `add_header Content-Type ...`, which adds a second one";
const HINT_CACHE: &str =
    "send `Cache-Control: public, max-age=14400` so every server caches it for a known time";
const HINT_SIZE: &str = "keep the document under 12 KiB: tuwunel refuses larger server documents";
const HINT_JSON: &str = "Synapse treats invalid JSON as a failure and caches it for an hour; `wellknownd check` validates documents before serving them";

fn unreachable_hint(doc: Document) -> String {
    match doc {
        Document::Server => format!("{HINT_NO_SERVER}; {HINT_UNREACHABLE}"),
        Document::Client => format!("{HINT_NO_CLIENT}; {HINT_UNREACHABLE}"),
        _ => HINT_UNREACHABLE.to_owned(),
    }
}

fn redirects(name: &str, f: &Followed) -> Check {
    let id = format!("{name}.redirects");
    if f.hops.is_empty() {
        return Check::pass(GROUP, id, "none");
    }
    let path: Vec<String> = f
        .hops
        .iter()
        .map(|h| {
            let cors = if h.cors { "with CORS" } else { "no CORS" };
            format!("{} {} ({cors})", h.status, h.url)
        })
        .collect();
    let detail = format!("{} redirect(s): {}", f.hops.len(), path.join(" -> "));
    match f.hops.iter().find(|h| !h.cors) {
        None => Check::pass(GROUP, id, detail),
        Some(h) => Check::fail(
            GROUP,
            id,
            detail,
            format!(
                "the {} from {} has no Access-Control-Allow-Origin: browsers stop there, so Element Web cannot follow it; add the CORS header to the redirect too (nginx: `add_header ... always`)",
                h.status, h.url
            ),
        ),
    }
}

fn status(doc: Document, end: &Url, reply: &Reply) -> Check {
    let id = format!("{}.status", doc.name());
    let code = reply.status.as_u16();
    let detail = format!("{code} from {end}");
    match (code, doc) {
        (200, _) => Check::pass(GROUP, id, detail),
        (404, Document::Support) => {
            let detail = format!("{detail}: no support document (optional)");
            Check::warn(GROUP, id, detail, HINT_NO_SUPPORT)
        }
        (404, Document::Server) => Check::fail(GROUP, id, detail, HINT_NO_SERVER),
        (404, _) => Check::fail(GROUP, id, detail, HINT_NO_CLIENT),
        _ => Check::fail(GROUP, id, detail, HINT_STATUS),
    }
}

fn cors(name: &str, reply: &Reply) -> Check {
    let id = format!("{name}.cors");
    let values = reply.all("access-control-allow-origin");
    match values.as_slice() {
        [v] if allows_origin(v) => {
            Check::pass(GROUP, id, format!("Access-Control-Allow-Origin: {v}"))
        }
        [] => {
            let detail = format!(
                "no Access-Control-Allow-Origin on the {}",
                reply.status.as_u16()
            );
            Check::fail(GROUP, id, detail, HINT_NO_CORS)
        }
        _ => {
            let detail = format!("Access-Control-Allow-Origin: {}", values.join(", "));
            Check::fail(GROUP, id, detail, HINT_CORS_VALUES)
        }
    }
}

fn content_type(name: &str, reply: &Reply) -> Check {
    let id = format!("{name}.content_type");
    let values = reply.all("content-type");
    let json = |v: &str| {
        v.split(';')
            .next()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
    };
    match values.as_slice() {
        [v] if json(v) => Check::pass(GROUP, id, format!("Content-Type: {v}")),
        [] => Check::fail(GROUP, id, "no Content-Type", HINT_TYPE),
        [v] => Check::fail(GROUP, id, format!("Content-Type: {v}"), HINT_TYPE),
        _ => {
            let detail = format!(
                "{} Content-Type headers: {}",
                values.len(),
                values.join(" | ")
            );
            Check::fail(GROUP, id, detail, HINT_TWO_TYPES)
        }
    }
}

/// The period Synapse caches the document for (seconds), from the Cache-Control header.
pub fn synapse_cache_secs(cache_control: Option<&str>) -> u64 {
    const MIN: u64 = 5 * 60;
    const MAX: u64 = 48 * 3600;
    let Some(header) = cache_control else {
        return 24 * 3600;
    };
    let directives: Vec<String> = header
        .split(',')
        .map(|d| d.trim().to_ascii_lowercase())
        .collect();
    if directives.iter().any(|d| d == "no-store") {
        return MIN;
    }
    let max_age = directives.iter().find_map(|d| {
        d.strip_prefix("max-age=")
            .and_then(|n| n.trim_matches('"').parse::<u64>().ok())
    });
    max_age.map_or(24 * 3600, |n| n.clamp(MIN, MAX))
}

/// `14400` as `4 h`, `300` as `5 min`.
pub fn period(secs: u64) -> String {
    match secs {
        s if s % 3600 == 0 => format!("{} h", s / 3600),
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

fn cache(name: &str, reply: &Reply) -> Check {
    let id = format!("{name}.cache");
    let header = reply.all("cache-control");
    let header = (!header.is_empty()).then(|| header.join(", "));
    let secs = synapse_cache_secs(header.as_deref());
    let derived = format!("Synapse caches it for {}", period(secs));
    match header {
        None => Check::warn(
            GROUP,
            id,
            format!("no Cache-Control: {derived}"),
            HINT_CACHE,
        ),
        Some(h) if h.to_ascii_lowercase().contains("no-store") => {
            let detail =
                format!("Cache-Control: {h}: {derived}; Conduit refetches on every request");
            Check::warn(GROUP, id, detail, HINT_CACHE)
        }
        Some(h) => Check::pass(GROUP, id, format!("Cache-Control: {h}: {derived}")),
    }
}

fn size(name: &str, reply: &Reply) -> Check {
    let id = format!("{name}.size");
    let n = reply.body.len();
    if reply.truncated || n > MAX_BODY {
        let more = if reply.truncated { "more than " } else { "" };
        return Check::fail(GROUP, id, format!("{more}{n} bytes"), HINT_SIZE);
    }
    Check::pass(GROUP, id, format!("{n} bytes"))
}

fn json(name: &str, reply: &Reply) -> (Check, Option<Value>) {
    let id = format!("{name}.json");
    match serde_json::from_slice::<Value>(&reply.body) {
        Ok(v @ Value::Object(_)) => (Check::pass(GROUP, id, "a JSON object"), Some(v)),
        Ok(_) => {
            let hint = "the document must be a JSON object `{...}`";
            (
                Check::fail(GROUP, id, "valid JSON, but not an object", hint),
                None,
            )
        }
        Err(e) => (
            Check::fail(GROUP, id, format!("invalid JSON: {e}"), HINT_JSON),
            None,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::{period, synapse_cache_secs};

    #[test]
    fn derives_synapse_cache_period() {
        let secs = |h: Option<&str>| period(synapse_cache_secs(h));
        assert_eq!(secs(None), "24 h");
        assert_eq!(secs(Some("public, max-age=14400")), "4 h");
        assert_eq!(secs(Some("max-age=60")), "5 min");
        assert_eq!(secs(Some("max-age=31536000")), "48 h");
        assert_eq!(secs(Some("no-store")), "5 min");
        assert_eq!(secs(Some("public")), "24 h");
        assert_eq!(period(90), "90 s");
    }
}

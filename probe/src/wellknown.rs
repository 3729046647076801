//! One well-known document fetched from `https://DOMAIN`, as Synapse and Element fetch it:
//! redirects, status, CORS, Content-Type, caching, size, JSON and shape.

use serde_json::Value;

use super::dns::Resolve;
use super::fetch::{Error, Reply};
use super::report::Check;
use super::url::Url;
use super::{Followed, Probe, headers, shape};
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

/// A browser's Origin, so servers that only add CORS for cross-origin requests show it.
pub const ORIGIN: (&str, &str) = ("origin", "https://app.element.io");

/// Whether an `Access-Control-Allow-Origin` value lets a page at [`ORIGIN`] read the answer.
pub fn allows_origin(value: &str) -> bool {
    value == "*" || value == ORIGIN.1
}

pub const GROUP: &str = "well-known";

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
    checks.push(headers::cors(name, reply));
    if reply.status != 200 {
        let why = format!("not checked: {name}.status is {}", reply.status.as_u16());
        checks.extend(AFTER_STATUS[1..].iter().map(|what| skip(what, &why)));
        return (checks, None);
    }
    checks.push(headers::content_type(name, reply));
    checks.push(headers::cache(name, reply));
    checks.push(headers::size(name, reply));
    let (json, value) = headers::json(name, reply);
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

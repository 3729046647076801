//! Who accepts what the probe fetched: one verdict per consumer of the documents, each by
//! that consumer's own documented rules (the source file of each rule is cited where the rule
//! is written), because they disagree: Synapse takes only a 200 and does not follow 308,
//! tuwunel takes any 2xx but only 12 KiB, Element X parses the client document strictly
//! with ruma while Element Web reads two keys of it.
//!
//! [`gather`] makes the requests only a consumer makes (the identity server, Element X's
//! fallback); [`judge`] is pure: from what was seen to the verdicts, testable without sockets.
//! The homeservers are in [`homeservers`], the clients in [`clients`], ruma's reading of the
//! client document in [`elementx`].

pub mod clients;
pub mod elementx;
pub mod homeservers;

use serde::Serialize;
use serde_json::Value;

use super::Followed;
use super::Probe;
use super::clientapi::Answer;
use super::dns::Resolve;
use super::report::Status;
use super::url::Url;

/// Everything the verdicts are made from.
pub struct Seen<'a> {
    pub domain: &'a str,
    pub server: &'a Followed,
    pub client: &'a Followed,
    /// `/_matrix/client/versions` at the client document's base URL, when it names one.
    pub versions: Option<&'a Answer>,
    /// `/_matrix/identity/v2` at the identity server the client document names, if any.
    pub identity: Option<&'a Answer>,
    /// `https://DOMAIN/_matrix/client/versions`, where Element X goes when it cannot use the
    /// client document; asked only then.
    pub fallback: Option<&'a Answer>,
}

/// One consumer's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub id: &'static str,
    pub status: Status,
    pub detail: String,
    pub hint: Option<String>,
}

impl Verdict {
    pub fn pass(id: &'static str, detail: impl Into<String>) -> Verdict {
        Verdict::new(id, Status::Pass, detail, None)
    }

    pub fn warn(id: &'static str, detail: impl Into<String>, hint: impl Into<String>) -> Verdict {
        Verdict::new(id, Status::Warn, detail, Some(hint.into()))
    }

    pub fn fail(id: &'static str, detail: impl Into<String>, hint: impl Into<String>) -> Verdict {
        Verdict::new(id, Status::Fail, detail, Some(hint.into()))
    }

    fn new(
        id: &'static str,
        status: Status,
        detail: impl Into<String>,
        hint: Option<String>,
    ) -> Verdict {
        Verdict {
            id,
            status,
            detail: detail.into(),
            hint,
        }
    }
}

/// The ids, in report order: the homeservers, then the clients.
pub const IDS: [&str; 7] = [
    "synapse",
    "element-web",
    "element-x",
    "tuwunel",
    "continuwuity",
    "dendrite",
    "mautrix",
];

/// Every consumer's verdict on `seen`, in [`IDS`] order.
pub fn judge(seen: &Seen) -> Vec<Verdict> {
    let mut all: Vec<Verdict> = homeservers::HOMESERVERS
        .iter()
        .map(|f| homeservers::judge(f, seen.domain, seen.server))
        .collect();
    all.push(clients::element_web(seen));
    all.push(clients::element_x(seen));
    all.sort_by_key(|v| IDS.iter().position(|id| *id == v.id));
    all
}

/// The requests only consumers make: the identity server (Element Web checks it), and
/// Element X's fallback when it cannot use the client document.
pub async fn gather<R: Resolve>(
    p: &Probe<R>,
    client: &Followed,
    document: Option<&Value>,
) -> (Option<Answer>, Option<Answer>) {
    let identity = document
        .and_then(|v| v["m.identity_server"]["base_url"].as_str())
        .and_then(|is| Url::parse(is).ok())
        .map(|url| url.with_path("/_matrix/identity/v2"));
    let fallback = clients::x_document(client)
        .is_err()
        .then(|| Url::https(&p.domain, "/_matrix/client/versions"));
    let ask = |url: Option<Url>| async move {
        match url {
            Some(url) => Some(Answer::get(p, url).await),
            None => None,
        }
    };
    tokio::join!(ask(identity), ask(fallback))
}

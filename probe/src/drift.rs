//! Drift: when the delegated host also answers `/.well-known/matrix/server` and `/client`,
//! its copies must say what the domain's say. A different copy is a common leftover of a
//! migration, and whoever reads the delegated name's copy (a client given that name, a tool)
//! is sent elsewhere.

use serde_json::Value;

use super::dns::Resolve;
use super::report::Check;
use super::url::Url;
use super::{Probe, wellknown};
use wellknownd_shared::{document::Document, names};

const GROUP: &str = "well-known";

/// One check per document the domain served, against the copy at `m_server`'s host; none
/// when there is no other host.
pub async fn check<R: Resolve>(
    p: &Probe<R>,
    m_server: Option<&str>,
    documents: [(Document, Option<&Value>); 2],
) -> Vec<Check> {
    let Some(host) = m_server
        .and_then(|s| names::server_name(s).ok())
        .map(|hp| hp.host.to_ascii_lowercase())
        .filter(|h| !h.eq_ignore_ascii_case(&p.domain))
    else {
        return Vec::new();
    };
    let mut checks = Vec::new();
    for (doc, ours) in documents {
        let Some(ours) = ours else { continue };
        let url = Url::https(&host, doc.path());
        let followed = p.follow(url.clone(), &[wellknown::ORIGIN]).await;
        let id = format!("{}.drift", doc.name());
        let theirs = match &followed.end {
            Ok((_, reply)) if reply.status == 200 => {
                serde_json::from_slice::<Value>(&reply.body).ok()
            }
            _ => None,
        };
        checks.push(match theirs {
            None => Check::pass(GROUP, id, format!("{host} serves no copy")),
            Some(t) if &t == ours => Check::pass(GROUP, id, format!("{host} serves the same")),
            Some(t) => Check::warn(
                GROUP,
                id,
                format!("{url} differs from {}'s: {t}", p.domain),
                format!(
                    "a leftover from a migration? Whoever asks {host} is told something else: remove that copy, or make it the same as {}'s",
                    p.domain
                ),
            ),
        });
    }
    checks
}

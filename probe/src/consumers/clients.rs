//! How Element Web and Element X read the client document, and whether they then log in.

use std::time::Duration;

use serde_json::Value;
use wellknownd_shared::names;

use super::{Seen, Verdict, elementx};
use crate::Followed;
use crate::clientapi::Answer;
use crate::fetch::Reply;
use crate::wellknown::allows_origin;

/// matrix-js-sdk's discovery gives up on the document after this long.
const ELEMENT_WEB_TIMEOUT: Duration = Duration::from_secs(5);
/// matrix-rust-sdk's request timeout.
const ELEMENT_X_TIMEOUT: Duration = Duration::from_secs(30);
/// matrix-rust-sdk's HTTP client follows at most this many redirects.
const ELEMENT_X_REDIRECTS: usize = 10;

const HINT_CORS: &str = "send `Access-Control-Allow-Origin: *` on every answer of the document, redirects and errors included: Element Web runs in a browser, which hides an answer without it";
const HINT_DOCUMENT: &str =
    "serve the client document with status 200 and valid JSON (see the well-known checks above)";
const HINT_VERSIONS: &str = "the base URL must reach the homeserver: the proxy must forward /_matrix/ to it (with CORS, for Element Web)";
const HINT_IDENTITY: &str =
    "the identity server named must answer /_matrix/identity/v2, or leave `m.identity_server` out";
const HINT_RUMA: &str = "fix or remove that key: Element X drops the whole document for one key it cannot read (`wellknownd check` refuses such keys before serving them)";

/// Element Web, by matrix-js-sdk src/autodiscovery.ts (`AutoDiscovery.findClientConfig`):
/// a 404 is IGNORE (the user types the homeserver), any other failure, including a
/// cross-origin answer without CORS and invalid JSON, is FAIL_PROMPT; then
/// `<base_url>/_matrix/client/versions` must list versions, and an identity server, when
/// named, must answer `/_matrix/identity/v2`, or discovery fails (FAIL_ERROR).
/// Content-Type is not checked.
pub fn element_web(seen: &Seen) -> Verdict {
    const ID: &str = "element-web";
    let base_url = match web_document(seen.client) {
        Ok(base_url) => base_url,
        Err(Web::Ignored(why)) => {
            let detail = format!(
                "no client document ({why}): users must type the homeserver's URL themselves"
            );
            return Verdict::warn(
                ID,
                detail,
                "publish /.well-known/matrix/client (wellknownd: [domain.client])",
            );
        }
        Err(Web::Fails(why, hint)) => {
            return Verdict::fail(ID, format!("cannot use the client document: {why}"), hint);
        }
    };
    let listed = match homeserver_answers(ID, &base_url, seen.versions, true) {
        Ok(listed) => listed,
        Err(fail) => return fail,
    };
    if let Some(identity) = seen.identity {
        let answered = identity.ok().and_then(|()| cors_or_not(identity));
        if let Err(why) = answered {
            return Verdict::fail(
                ID,
                format!("the identity server check fails: {why}"),
                HINT_IDENTITY,
            );
        }
    }
    logs_in(ID, &base_url, &listed)
}

/// What both clients check once they have a base URL: `/_matrix/client/versions` there
/// lists versions (and, read from a browser, carries CORS): the versions, else the verdict.
fn homeserver_answers(
    id: &'static str,
    base_url: &str,
    versions: Option<&Answer>,
    browser: bool,
) -> Result<Vec<String>, Verdict> {
    let Some(versions) = versions else {
        let detail = format!("`{base_url}` was not asked for /versions");
        return Err(Verdict::fail(id, detail, HINT_VERSIONS));
    };
    match versions.versions() {
        Ok(_) if browser && !versions.cors() => {
            let detail = format!(
                "{}: no Access-Control-Allow-Origin, so the browser hides the answer",
                versions.url
            );
            Err(Verdict::fail(id, detail, HINT_VERSIONS))
        }
        Ok(listed) => Ok(listed),
        Err(why) => {
            let detail = format!("the homeserver check fails: {why}");
            Err(Verdict::fail(id, detail, HINT_VERSIONS))
        }
    }
}

/// The pass, naming the newest client API version the homeserver lists.
fn logs_in(id: &'static str, base_url: &str, listed: &[String]) -> Verdict {
    let newest = listed.last().map(String::as_str).unwrap_or_default();
    Verdict::pass(
        id,
        format!("logs in to {base_url} (client API up to {newest})"),
    )
}

fn cors_or_not(a: &Answer) -> Result<(), String> {
    match a.cors() {
        true => Ok(()),
        false => Err(format!("{}: no Access-Control-Allow-Origin", a.url)),
    }
}

/// Why Element Web does not take the document.
enum Web {
    /// A 404 it can see: discovery is skipped, not failed.
    Ignored(String),
    Fails(String, &'static str),
}

fn web_document(doc: &Followed) -> Result<String, Web> {
    let fails = |why: String, hint| Err(Web::Fails(why, hint));
    if let Some(hop) = doc.hops.iter().find(|h| !h.cors) {
        return fails(
            format!(
                "the {} from {} has no CORS header, so the browser stops there",
                hop.status, hop.url
            ),
            HINT_CORS,
        );
    }
    let reply = match &doc.end {
        Ok((_, reply)) => reply,
        Err(e) => return fails(e.briefly(), HINT_DOCUMENT),
    };
    if !reply
        .all("access-control-allow-origin")
        .iter()
        .any(|o| allows_origin(o))
    {
        let why = format!(
            "the {} has no Access-Control-Allow-Origin, so the browser hides it",
            reply.status.as_u16()
        );
        return fails(why, HINT_CORS);
    }
    match reply.status.as_u16() {
        200 => {}
        404 => return Err(Web::Ignored("404".into())),
        status => return fails(format!("status {status}"), HINT_DOCUMENT),
    }
    if doc.elapsed > ELEMENT_WEB_TIMEOUT {
        let why = format!(
            "took {:.1} s, and it gives up after {} s",
            doc.elapsed.as_secs_f32(),
            ELEMENT_WEB_TIMEOUT.as_secs()
        );
        return fails(why, HINT_DOCUMENT);
    }
    let value: Value = serde_json::from_slice(&reply.body)
        .map_err(|e| Web::Fails(format!("invalid JSON ({e})"), HINT_DOCUMENT))?;
    let Some(url) = value["m.homeserver"]["base_url"].as_str() else {
        return fails("no `m.homeserver.base_url` string".into(), HINT_DOCUMENT);
    };
    let base_url = names::base_url(url, true)
        .map_err(|e| Web::Fails(format!("m.homeserver.base_url {e}"), HINT_DOCUMENT))?;
    if let Some(is) = value.get("m.identity_server") {
        let url = is["base_url"]
            .as_str()
            .ok_or("no `base_url` string".to_owned());
        if let Err(e) = url.and_then(|u| names::base_url(u, true)) {
            return fails(format!("m.identity_server.base_url: {e}"), HINT_IDENTITY);
        }
    }
    Ok(base_url)
}

/// Element X, by matrix-rust-sdk crates/matrix-sdk/src/client/builder/homeserver_config.rs:
/// the document is fetched (30 s, up to 10 redirects, Content-Type and CORS ignored) and
/// parsed with ruma ([`elementx`]); when that fails for any reason it tries
/// `https://<server name>/_matrix/client/versions` instead. A document it rejects fails here
/// even when the fallback answers: the base URL it names is not used.
pub fn element_x(seen: &Seen) -> Verdict {
    const ID: &str = "element-x";
    match x_document(seen.client) {
        Ok(base_url) => match homeserver_answers(ID, &base_url, seen.versions, false) {
            Ok(listed) => logs_in(ID, &base_url, &listed),
            Err(fail) => fail,
        },
        Err(X::Rejected(why)) => {
            let detail = format!("rejects the client document: {why}; {}", fallback(seen));
            Verdict::fail(ID, detail, HINT_RUMA)
        }
        Err(X::Unusable(why)) => {
            let detail = format!("no usable client document ({why}); {}", fallback(seen));
            match seen.fallback.map(Answer::versions) {
                Some(Ok(_)) => Verdict::warn(
                    ID,
                    detail,
                    "publish /.well-known/matrix/client so Element X finds the homeserver by its name",
                ),
                _ => Verdict::fail(ID, detail, HINT_DOCUMENT),
            }
        }
    }
}

/// Why Element X does not take the document.
pub(super) enum X {
    /// It was fetched and ruma rejects it.
    Rejected(String),
    /// No 200 to parse.
    Unusable(String),
}

pub(super) fn x_document(doc: &Followed) -> Result<String, X> {
    if doc.hops.len() > ELEMENT_X_REDIRECTS {
        return Err(X::Unusable(format!("{} redirects", doc.hops.len())));
    }
    let reply: &Reply = match &doc.end {
        Ok((_, reply)) => reply,
        Err(e) => return Err(X::Unusable(e.briefly())),
    };
    if reply.status != 200 {
        return Err(X::Unusable(format!("status {}", reply.status.as_u16())));
    }
    if doc.elapsed > ELEMENT_X_TIMEOUT {
        return Err(X::Unusable(format!(
            "took {:.1} s",
            doc.elapsed.as_secs_f32()
        )));
    }
    elementx::parse(&reply.body).map_err(X::Rejected)
}

fn fallback(seen: &Seen) -> String {
    match seen.fallback {
        Some(a) => match a.versions() {
            Ok(_) => format!(
                "it logs in to https://{} directly, whose /versions answers",
                seen.domain
            ),
            Err(why) => format!("its fallback fails too: {why}"),
        },
        None => "its fallback was not asked".into(),
    }
}

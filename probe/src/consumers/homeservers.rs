//! How each homeserver fetches `/.well-known/matrix/server` from a remote domain, and so
//! whether it uses the delegation: what statuses it takes, how much of the body it reads,
//! which redirects it follows, how long it waits. When it refuses the document it falls
//! back to SRV records and then port 8448 on the domain itself, which is rarely where the
//! homeserver is.

use std::time::Duration;

use wellknownd_shared::names;

use super::Verdict;
use crate::Followed;

/// Which final statuses a homeserver reads the document from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepts {
    Only200,
    Any2xx,
}

/// One homeserver's way of fetching the server document.
#[derive(Debug, Clone, Copy)]
pub struct Fetcher {
    pub id: &'static str,
    pub name: &'static str,
    pub accepts: Accepts,
    /// Bytes of body it reads: a longer document is refused (or cut, and fails to parse).
    pub max_body: usize,
    /// Redirects it follows before giving up.
    pub max_redirects: usize,
    /// Whether it follows a 308 Permanent Redirect.
    pub follows_308: bool,
    /// How long it waits for the whole fetch, where its source sets a limit.
    pub timeout: Option<Duration>,
}

pub const HOMESERVERS: [Fetcher; 5] = [
    // synapse/http/federation/well_known_resolver.py: `WELL_KNOWN_MAX_SIZE = 50 * 1024`,
    // `if response.code != 200` raises; the fetch goes through Twisted's RedirectAgent
    // (synapse/http/federation/matrix_federation_agent.py), which follows 301, 302, 303
    // and 307 but not 308 (synapse#8098), up to its default limit of 20.
    Fetcher {
        id: "synapse",
        name: "Synapse",
        accepts: Accepts::Only200,
        max_body: 50 * 1024,
        max_redirects: 20,
        follows_308: false,
        timeout: None,
    },
    // tuwunel src/service/resolver/well_known.rs: `if !response.status().is_success()`
    // returns None, `read_response_capped(response, 12288)`; its well-known client
    // (src/service/client/mod.rs) follows at most 4 redirects.
    Fetcher {
        id: "tuwunel",
        name: "tuwunel",
        accepts: Accepts::Any2xx,
        max_body: 12 * 1024,
        max_redirects: 4,
        follows_308: true,
        timeout: None,
    },
    // continuwuity src/service/resolver/well_known.rs: the same code (both forks of
    // conduwuit), with the cap at 8 KiB.
    Fetcher {
        id: "continuwuity",
        name: "continuwuity",
        accepts: Accepts::Any2xx,
        max_body: 8 * 1024,
        max_redirects: 4,
        follows_308: true,
        timeout: None,
    },
    // Dendrite, through gomatrixserverlib fclient/well_known.go `LookupWellKnown`:
    // `resp.StatusCode != 200` is no well-known, `WellKnownMaxSize = 50 * 1024` (a longer
    // Content-Length is refused, a longer body cut by an io.LimitedReader and then fails to
    // parse), `http.Client{Timeout: time.Second * 30}`, whose default policy follows 10
    // redirects, 308 included.
    Fetcher {
        id: "dendrite",
        name: "Dendrite",
        accepts: Accepts::Only200,
        max_body: 50 * 1024,
        max_redirects: 10,
        follows_308: true,
        timeout: Some(Duration::from_secs(30)),
    },
    // mautrix-go federation/resolution.go `RequestWellKnown`: only `http.StatusOK`, the body
    // read through `io.LimitReader(resp.Body, 64*1024)`; Go's default client, 10 redirects.
    Fetcher {
        id: "mautrix",
        name: "mautrix-go",
        accepts: Accepts::Only200,
        max_body: 64 * 1024,
        max_redirects: 10,
        follows_308: true,
        timeout: None,
    },
];

const HINT_308: &str = "redirect with 301, 302 or 307, or better, serve the document at the domain itself (wellknownd: [[domain]] for it)";
const HINT_REDIRECTS: &str = "serve the document with fewer redirects: none is best";
const HINT_STATUS: &str = "serve the document with status 200";
const HINT_UNREACHABLE: &str =
    "make https://DOMAIN/.well-known/matrix/server answer (see the well-known checks above)";
const HINT_SLOW: &str = "answer faster: a static document should take milliseconds";
const HINT_JSON: &str = "serve `{\"m.server\": \"matrix.example.com:443\"}` exactly (wellknownd validates it before serving)";

/// `f`'s verdict on the server document as fetched from `domain`.
pub fn judge(f: &Fetcher, domain: &str, doc: &Followed) -> Verdict {
    match uses(f, doc) {
        Ok(summary) => Verdict::pass(f.id, format!("uses the delegation: {summary}")),
        Err((why, hint)) => Verdict::fail(
            f.id,
            format!(
                "{} ignores the server document: {why}; it falls back to SRV records for {domain}, then port 8448 on it",
                f.name
            ),
            hint.replace("DOMAIN", domain),
        ),
    }
}

/// What `f` takes from the document, or why it takes nothing, with the fix.
fn uses(f: &Fetcher, doc: &Followed) -> Result<String, (String, String)> {
    let refuse = |why: String, hint: &str| Err((why, hint.to_owned()));
    if let Some(hop) = doc.hops.iter().find(|h| h.status == 308 && !f.follows_308) {
        return refuse(
            format!("it does not follow the 308 from {}", hop.url),
            HINT_308,
        );
    }
    if doc.hops.len() > f.max_redirects {
        let why = format!(
            "{} redirects, and it follows at most {}",
            doc.hops.len(),
            f.max_redirects
        );
        return refuse(why, HINT_REDIRECTS);
    }
    let (_, reply) = match &doc.end {
        Ok(end) => end,
        Err(e) => return refuse(e.briefly(), HINT_UNREACHABLE),
    };
    let status = reply.status.as_u16();
    let taken = match f.accepts {
        Accepts::Only200 => status == 200,
        Accepts::Any2xx => reply.status.is_success(),
    };
    if !taken {
        return refuse(format!("status {status}"), HINT_STATUS);
    }
    let size = reply.body.len();
    if size > f.max_body || reply.truncated {
        let more = if reply.truncated { "more than " } else { "" };
        let why = format!("{more}{size} bytes, and it reads at most {}", f.max_body);
        let hint = format!(
            "keep the document under {} bytes: it needs only `m.server`",
            f.max_body
        );
        return Err((why, hint));
    }
    if let Some(limit) = f.timeout.filter(|t| doc.elapsed > *t) {
        let why = format!(
            "took {:.1} s, and it waits {} s",
            doc.elapsed.as_secs_f32(),
            limit.as_secs()
        );
        return refuse(why, HINT_SLOW);
    }
    let m_server = serde_json::from_slice::<serde_json::Value>(&reply.body)
        .ok()
        .and_then(|v| v.get("m.server")?.as_str().map(str::to_owned));
    let Some(m_server) = m_server else {
        return refuse("no `m.server` string in valid JSON".into(), HINT_JSON);
    };
    if let Err(e) = names::server_name(&m_server) {
        return refuse(format!("m.server: {e}"), HINT_JSON);
    }
    let redirects = match doc.hops.len() {
        0 => String::new(),
        n => format!(", after {n} redirect(s)"),
    };
    Ok(format!(
        "m.server `{m_server}` (status {status}, {size} bytes{redirects})"
    ))
}

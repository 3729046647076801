//! `wellknownd probe DOMAIN`: checks a deployment from the outside, as a remote homeserver,
//! Element and a browser will use it, and says what to fix.
//!
//! [`probe()`] runs the checks concurrently where they are independent: the documents
//! ([`wellknown`]; the headers and JSON of a 200 in [`headers`], its shape in [`shape`]), the
//! browser preflight ([`cors`]) and every address of the domain ([`addresses`]) first; then,
//! from what the
//! documents say, [`federation`] (the spec's server discovery, TLS, version, signed keys in
//! [`keys`]) and [`clientapi`] (`/versions` at the base URL). Requests go through [`fetch`]
//! (hyper and rustls, as the daemon uses), names through [`dns`]. Last, [`consumers`] says
//! who accepts what was fetched (Synapse, Element Web, Element X through ruma, tuwunel,
//! continuwuity, Dendrite, mautrix-go), each by its own rules; [`report`] prints.
//! [`options`] is the command line and the run.
//!
//! A crate of its own in the workspace: the daemon compiles none of this, nor its resolver
//! (hickory) or ruma. What the two share (the server-name grammar, the documents' shapes) is
//! `wellknownd-shared`, so both read a document by the same rules.

pub mod addresses;
pub mod clientapi;
pub mod consumers;
pub mod cors;
pub mod dns;
pub mod drift;
pub mod federation;
pub mod fetch;
pub mod headers;
pub mod keys;
pub mod options;
pub mod report;
pub mod shape;
pub mod url;
pub mod wellknown;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::Method;

use dns::{Dns, Resolve, Srv};
use fetch::{Error, Reply, Site};
pub use options::{Options, run};
use report::{Check, Report};
use url::Url;

/// Redirects followed before giving up, as Synapse and browsers do (both stop near 10-20).
pub const MAX_REDIRECTS: usize = 10;

/// Addresses of one name probed at most: a round-robin name with hundreds of records must not
/// turn the probe into a flood.
pub const MAX_ADDRESSES: usize = 16;

/// Everything the checks share: the domain, the HTTP client, the resolver.
pub struct Probe<R> {
    pub domain: String,
    pub client: fetch::Client,
    pub dns: Dns<R>,
}

/// One redirect on the way to a response.
#[derive(Debug, Clone)]
pub struct Hop {
    pub url: Url,
    pub status: u16,
    pub cors: bool,
}

/// A request that followed redirects: the hops taken, then the final URL and reply, and how
/// long the whole chain took (what a consumer's time limit applies to).
pub struct Followed {
    pub hops: Vec<Hop>,
    pub end: Result<(Url, Reply), Error>,
    pub elapsed: Duration,
}

/// Runs every check against `domain` and gathers the report.
pub async fn probe<R: Resolve + Send + Sync + 'static>(probe: Probe<R>) -> Report {
    let p = Arc::new(probe);
    let (server, client, support, element, policy, preflight, every) = tokio::join!(
        wellknown::check(&p, wellknown::SERVER),
        wellknown::check(&p, wellknown::CLIENT),
        wellknown::check(&p, wellknown::SUPPORT),
        wellknown::check(&p, wellknown::ELEMENT),
        wellknown::check(&p, wellknown::POLICY_SERVER),
        cors::preflight(&p),
        addresses::check(p.clone()),
    );
    let m_server = server.value.as_ref().and_then(shape::m_server);
    let base_url = client.value.as_ref().and_then(shape::base_url);
    let copies = [
        (wellknown::SERVER, server.value.as_ref()),
        (wellknown::CLIENT, client.value.as_ref()),
    ];
    let ((path, federation), (versions, answer), drift, (identity, fallback)) = tokio::join!(
        federation::check(&p, m_server.clone()),
        clientapi::check(&p, base_url),
        drift::check(&p, m_server.as_deref(), copies),
        consumers::gather(&p, &client.followed, client.value.as_ref()),
    );
    let verdicts = consumers::judge(&consumers::Seen {
        domain: &p.domain,
        server: &server.followed,
        client: &client.followed,
        versions: answer.as_ref(),
        identity: identity.as_ref(),
        fallback: fallback.as_ref(),
    });
    let mut checks: Vec<Check> = [
        server.checks,
        client.checks,
        support.checks,
        element.checks,
        policy.checks,
        drift,
        vec![preflight],
        every,
        federation,
        versions,
        unused_overrides(&p.dns),
    ]
    .concat();
    once_per_tls_failure(&mut checks);
    Report::new(&p.domain, path, checks, verdicts)
}

/// One TLS failure, said once: every later check that failed with the same TLS error (the
/// same host and name) is marked SKIP, pointing at the first.
fn once_per_tls_failure(checks: &mut [Check]) {
    let mut seen: Vec<(String, String)> = Vec::new();
    for c in checks
        .iter_mut()
        .filter(|c| c.status == report::Status::Fail)
    {
        let Some(at) = c.detail.find("TLS: ") else {
            continue;
        };
        let error = c.detail[at..].to_owned();
        match seen.iter().find(|(e, _)| *e == error) {
            Some((_, first)) => {
                let why = format!("not checked: {error} (see {first})");
                *c = Check::skip(c.group, c.id.clone(), why);
            }
            None => seen.push((error, c.id.clone())),
        }
    }
}

/// A `--resolve` no connection went to: the port is the usual mistake.
fn unused_overrides<R>(dns: &Dns<R>) -> Vec<Check> {
    dns.unused()
        .into_iter()
        .map(|(o, ports)| {
            let asked = match ports.as_slice() {
                [] => format!("nothing connected to `{}`", o.host),
                ports => {
                    let list: Vec<String> = ports.iter().map(u16::to_string).collect();
                    format!("connections to `{}` went to port {}", o.host, list.join(", "))
                }
            };
            Check::warn(
                "probe",
                "probe.resolve",
                format!("--resolve {}:{} was never used: {asked}", o.host, o.port),
                "give --resolve the port the probe connects to (443 for the documents, the delegated port for federation)",
            )
        })
        .collect()
}

impl<R: Resolve> Probe<R> {
    /// The addresses of `host:port`, within the time limit.
    pub async fn addrs(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, Error> {
        let found = tokio::time::timeout(self.client.timeout, self.dns.addrs(host, port))
            .await
            .map_err(|_| Error::Timeout(self.client.timeout))?
            .map_err(|e| Error::Resolve(format!("`{host}`: {e}")))?;
        match found.is_empty() {
            true => Err(Error::Resolve(format!("`{host}` has no A or AAAA record"))),
            false => Ok(found.into_iter().take(MAX_ADDRESSES).collect()),
        }
    }

    /// SRV records of `name`, sorted; an empty list when there are none.
    pub async fn srv(&self, name: &str) -> Result<Vec<Srv>, String> {
        tokio::time::timeout(self.client.timeout, self.dns.srv(name))
            .await
            .map_err(|_| format!("no DNS answer for `{name}` within the time limit"))?
    }

    /// One request to the first of `addrs` that accepts a connection, as clients do.
    pub async fn request_any(
        &self,
        addrs: &[SocketAddr],
        site: &Site,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Result<Reply, Error> {
        let mut last = Error::Resolve(format!("`{}` has no address", site.name));
        for addr in addrs {
            match self
                .client
                .request(*addr, site, method.clone(), path, headers)
                .await
            {
                Err(e @ Error::Connect(..)) => last = e,
                other => return other,
            }
        }
        Err(last)
    }

    /// One request to `url`, resolving its host.
    pub async fn request_url(
        &self,
        url: &Url,
        method: Method,
        headers: &[(&str, &str)],
    ) -> Result<Reply, Error> {
        let addrs = self.addrs(&url.host, url.port).await?;
        self.request_any(&addrs, &url.site(), method, &url.path, headers)
            .await
    }

    /// GET `url`, following up to [`MAX_REDIRECTS`] redirects.
    pub async fn follow(&self, url: Url, headers: &[(&str, &str)]) -> Followed {
        let started = Instant::now();
        let mut hops = Vec::new();
        let end = self.follow_hops(url, headers, &mut hops).await;
        Followed {
            hops,
            end,
            elapsed: started.elapsed(),
        }
    }

    async fn follow_hops(
        &self,
        mut url: Url,
        headers: &[(&str, &str)],
        hops: &mut Vec<Hop>,
    ) -> Result<(Url, Reply), Error> {
        loop {
            let reply = self.request_url(&url, Method::GET, headers).await?;
            let location = reply.one("location");
            let Some(location) = location.filter(|_| reply.status.is_redirection()) else {
                return Ok((url, reply));
            };
            if hops.len() == MAX_REDIRECTS {
                return Err(Error::Http(format!("more than {MAX_REDIRECTS} redirects")));
            }
            let next = url
                .join(&location)
                .map_err(|e| Error::Http(format!("bad Location: {e}")))?;
            let cors = reply.one("access-control-allow-origin").is_some();
            hops.push(Hop {
                url,
                status: reply.status.as_u16(),
                cors,
            });
            url = next;
        }
    }
}

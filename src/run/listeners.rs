//! The daemon's sockets: systemd's and the configured ones, the metrics listener, the
//! address the ACME client confirms challenges through, and a task serving each.

use std::net::SocketAddr;

use crate::acme;
use crate::build::Built;
use crate::config::{self, Config, ListenOptions};
use crate::log;
use crate::server::{self, Listener, Proto, Shared, Shutdown};
use crate::systemd::activation;

use super::StartError;

/// systemd's sockets, then the configured ones; and the metrics listener if configured.
pub(super) fn open_listeners(
    built: &Built,
    activated: Vec<activation::Activated>,
) -> Result<(Vec<Listener>, Option<Listener>), StartError> {
    let mut listeners = activated
        .into_iter()
        .map(|a| {
            Listener::adopt(a.listener, &a.name)
                .map_err(|e| StartError::Activation(format!("socket activation: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    listeners.extend(bind(&built.config)?);
    if listeners.is_empty() {
        return Err(StartError::NoListeners);
    }
    if listeners.iter().any(|l| l.proto == Proto::Https) {
        built.config.require_certificates()?;
    }
    let metrics = built
        .config
        .listen
        .metrics
        .map(|a| bind_one(a, Proto::Http, ListenOptions::default()))
        .transpose()?;
    Ok((listeners, metrics))
}

/// Binds every configured address; fails on the first that cannot be bound.
pub fn bind(config: &Config) -> Result<Vec<Listener>, StartError> {
    let https = config.listen.https.iter().map(|l| (l, Proto::Https));
    let http = config.listen.http.iter().map(|l| (l, Proto::Http));
    let redirect = config
        .listen
        .redirect_http
        .iter()
        .map(|l| (l, Proto::Redirect));
    https
        .chain(http)
        .chain(redirect)
        .map(|(l, proto)| bind_one(l.address, proto, l.options))
        .collect()
}

fn bind_one(
    address: SocketAddr,
    proto: Proto,
    options: ListenOptions,
) -> Result<Listener, StartError> {
    Listener::bind(address, proto, options).map_err(|source| StartError::Bind {
        address,
        proto,
        source,
    })
}

/// Spawns [`server::serve`] on every listener; the future ends when all have drained.
pub fn start(
    listeners: Vec<Listener>,
    shared: Shared,
    shutdown: Shutdown,
) -> impl Future<Output = ()> {
    let tasks: Vec<_> = listeners
        .into_iter()
        .map(|l| {
            log::info(format_args!("listening on {}", l.address()));
            tokio::spawn(server::serve(l, shared.clone(), shutdown.clone()))
        })
        .collect();
    async move {
        for t in tasks {
            let _ = t.await;
        }
    }
}

/// Where the ACME client checks that challenges are answered: this process's own listeners
/// (their real ports, loopback for a wildcard).
pub(super) fn confirm_through(listeners: &[Listener], config: &Config) -> acme::Listeners {
    let mut through = acme::Listeners::from_config(config);
    let bound = |proto| {
        listeners
            .iter()
            .filter(|l| l.proto == proto)
            .find_map(|l| l.tcp.local_addr().ok())
            .map(acme::Listeners::local)
    };
    if let Some(a) = bound(Proto::Https) {
        through.https = a;
    }
    through.http = bound(Proto::Redirect).or(through.http);
    through
}

pub(super) fn log_domains(config: &Config) {
    for d in &config.domains {
        let docs: Vec<&str> = config::Document::ALL
            .into_iter()
            .filter(|doc| d.document(*doc).is_some())
            .map(|doc| doc.name())
            .collect();
        let server = d
            .server()
            .map(|s| format!(", m.server {s}"))
            .unwrap_or_default();
        log::info(format_args!(
            "domain {}: {}{server}",
            d.name,
            docs.join(", ")
        ));
    }
}

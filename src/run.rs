//! The daemon's life: load, bind, serve until SIGTERM/SIGINT, drain, exit.

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use crate::config::{self, Config};
use crate::log;
use crate::server::{self, Listener, Proto, Shared, Shutdown};
use crate::state::{Built, State};

/// How long in-flight requests get to finish after SIGTERM; below systemd's default
/// `TimeoutStopSec` (90 s), so a stop never ends in SIGKILL.
const GRACE: Duration = Duration::from_secs(10);

/// Why the daemon could not start.
#[derive(Debug)]
pub enum StartError {
    Config(config::Error),
    Tls(rustls::Error),
    Bind {
        address: SocketAddr,
        proto: Proto,
        source: std::io::Error,
    },
    NoListeners,
    Runtime(std::io::Error),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Config(e) => e.fmt(f),
            StartError::Tls(e) => write!(f, "cannot set up TLS: {e}"),
            StartError::Bind {
                address,
                proto,
                source,
            } => {
                write!(f, "listen.{proto}: cannot listen on {address}: {source}")?;
                if source.kind() == std::io::ErrorKind::PermissionDenied && address.port() < 1024 {
                    f.write_str(" (ports below 1024 need root or CAP_NET_BIND_SERVICE)")?;
                }
                Ok(())
            }
            StartError::NoListeners => {
                f.write_str("no listeners: add an address to listen.https or listen.http")
            }
            StartError::Runtime(e) => write!(f, "cannot start the async runtime: {e}"),
        }
    }
}

impl From<config::Error> for StartError {
    fn from(e: config::Error) -> Self {
        StartError::Config(e)
    }
}

/// Loads the config at `path` and serves it until SIGTERM or SIGINT.
pub fn run(path: &Path) -> Result<(), StartError> {
    let loaded = config::load(path)?;
    let Built { state, warnings } = State::build(loaded.config)?;
    for w in loaded.warnings.iter().chain(&warnings) {
        log::warn(w);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(StartError::Runtime)?;
    runtime.block_on(async {
        let listeners = bind(&state.config)?;
        let (stop, shutdown) = Shutdown::channel();
        log_domains(&state.config);
        let (_reload, shared) = Shared::new(state).map_err(StartError::Tls)?;
        let tasks = start(listeners, shared, shutdown);
        wait_for_signal().await;
        log::info("stopping: finishing requests in flight");
        let _ = stop.send(true);
        if tokio::time::timeout(GRACE, tasks).await.is_err() {
            log::warn(format_args!(
                "connections still open after {}s; closing them",
                GRACE.as_secs()
            ));
        }
        log::info("stopped");
        Ok(())
    })
}

/// Binds every configured address; fails on the first that cannot be bound.
pub fn bind(config: &Config) -> Result<Vec<Listener>, StartError> {
    let https = config.https.iter().map(|a| (*a, Proto::Https));
    let http = config.http.iter().map(|a| (*a, Proto::Http));
    let listeners = https
        .chain(http)
        .map(|(address, proto)| {
            Listener::bind(address, proto).map_err(|source| StartError::Bind {
                address,
                proto,
                source,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if listeners.is_empty() {
        return Err(StartError::NoListeners);
    }
    Ok(listeners)
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

fn log_domains(config: &Config) {
    for d in &config.domains {
        let docs: Vec<&str> = config::Document::ALL
            .into_iter()
            .filter(|doc| d.document(*doc).is_some())
            .map(|doc| &doc.path()[config::model::WELL_KNOWN_PREFIX.len()..])
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

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => {
            log::error("cannot install signal handlers; stopping on Ctrl-C only");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

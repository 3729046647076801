//! The daemon's life: load, bind (or take systemd's sockets), warm up, tell systemd we are
//! ready, then serve, reloading on SIGHUP and on renewed certificate files, until SIGTERM or
//! SIGINT; then drain and exit.

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::watch;

use crate::config::{self, Config};
use crate::log;
use crate::reload::Reloader;
use crate::server::{self, Listener, Proto, Shared, Shutdown};
use crate::state::{Built, State};
use crate::systemd::{Notifier, activation};

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
    Activation(String),
    NoListeners,
    NoCertificate,
    Signals(std::io::Error),
    Runtime(std::io::Error),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Config(e) => e.fmt(f),
            StartError::Tls(e) => write!(f, "cannot set up TLS: {e}"),
            StartError::Bind { address, proto, source } => {
                write!(f, "listen.{proto}: cannot listen on {address}: {source}")?;
                if source.kind() == std::io::ErrorKind::PermissionDenied && address.port() < 1024 {
                    f.write_str(" (ports below 1024 need root or CAP_NET_BIND_SERVICE)")?;
                }
                Ok(())
            }
            StartError::Activation(e) => f.write_str(e),
            StartError::NoListeners => {
                f.write_str("no listeners: add an address to listen.https or listen.http, or start from a systemd socket")
            }
            StartError::NoCertificate => {
                f.write_str("an https socket but no certificate: add a [tls] section, or name the socket `http`")
            }
            StartError::Signals(e) => write!(f, "cannot install signal handlers: {e}"),
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
    log::init();
    let notify = Notifier::from_env();
    let loaded = config::load(path)?;
    let Built { state, warnings } = State::build(loaded.config)?;
    for w in loaded.warnings.iter().chain(&warnings) {
        log::warn(w);
    }
    let runtime = runtime().map_err(StartError::Runtime)?;
    runtime.block_on(serve_until_stopped(path, state, notify))
}

/// One thread per CPU this process may run on. With a single CPU (pinned, or a one-core VM)
/// the current-thread scheduler does the same work without cross-thread wake-ups; against a
/// one-worker multi-thread runtime it measured no worse per request (the difference was
/// within this machine's noise).
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    match std::thread::available_parallelism().map_or(1, |n| n.get()) {
        1 => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        n => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(n)
            .enable_all()
            .build(),
    }
}

/// The signals we act on, installed before anything can send them: SIGHUP's default action
/// would kill the process.
struct Signals {
    hup: Signal,
    term: Signal,
    int: Signal,
}

impl Signals {
    fn install() -> Result<Signals, StartError> {
        let install = |kind| signal(kind).map_err(StartError::Signals);
        Ok(Signals {
            hup: install(SignalKind::hangup())?,
            term: install(SignalKind::terminate())?,
            int: install(SignalKind::interrupt())?,
        })
    }
}

async fn serve_until_stopped(
    path: &Path,
    state: State,
    notify: Notifier,
) -> Result<(), StartError> {
    let mut signals = Signals::install()?;
    let (listeners, metrics_listener) = open_listeners(&state)?;
    log_domains(&state.config);
    crate::tls::warm_up(&state);
    let (sender, shared) = Shared::new(state).map_err(StartError::Tls)?;
    let (stop, shutdown) = Shutdown::channel();
    if let Some(l) = metrics_listener {
        log::info(format_args!("metrics on {}/metrics", l.address()));
        let serve = crate::metrics::serve(
            l,
            shared.metrics.clone(),
            shared.state.clone(),
            shutdown.clone(),
        );
        tokio::spawn(serve);
    }
    let metrics = shared.metrics.clone();
    let tasks = start(listeners, shared, shutdown);
    let mut reloader = Reloader::new(path.to_owned(), sender, notify.clone(), metrics);
    notify.ready(&reloader.status());
    if let Some(every) = notify.watchdog_interval() {
        tokio::spawn(watchdog(notify.clone(), every));
    }
    until_stop_signal(&mut signals, &mut reloader).await;
    notify.stopping();
    drain(&mut reloader, stop, tasks).await;
    Ok(())
}

/// systemd's sockets, then the configured ones; and the metrics listener if configured.
fn open_listeners(state: &State) -> Result<(Vec<Listener>, Option<Listener>), StartError> {
    let mut listeners = activation::listeners().map_err(StartError::Activation)?;
    listeners.extend(bind(&state.config)?);
    if listeners.is_empty() {
        return Err(StartError::NoListeners);
    }
    if listeners.iter().any(|l| l.proto == Proto::Https) && state.pairs.is_empty() {
        return Err(StartError::NoCertificate);
    }
    let metrics = state
        .config
        .listen
        .metrics
        .map(|a| bind_one(a, Proto::Http, false))
        .transpose()?;
    Ok((listeners, metrics))
}

/// Reloads on SIGHUP and checks for renewed certificates until SIGTERM or SIGINT.
async fn until_stop_signal(signals: &mut Signals, reloader: &mut Reloader) {
    loop {
        let check = reloader.current().config.certificate_check_secs;
        tokio::select! {
            _ = signals.hup.recv() => reloader.reload(),
            _ = signals.term.recv() => return,
            _ = signals.int.recv() => return,
            () = tokio::time::sleep(Duration::from_secs(check)), if check > 0 => reloader.check_certificates(),
        }
    }
}

/// The way out: the health endpoint says 503 for `shutdown_delay` while everything still
/// serves, then the listeners close and requests in flight get `shutdown_grace_secs`.
async fn drain(
    reloader: &mut Reloader,
    stop: watch::Sender<bool>,
    tasks: impl Future<Output = ()>,
) {
    reloader.drain();
    let delay = reloader.current().config.health.shutdown_delay;
    if !delay.is_zero() {
        log::info(format_args!(
            "stopping in {}s: health endpoint now answers 503",
            delay.as_secs()
        ));
    }
    tokio::time::sleep(delay).await;
    log::info("stopping: finishing requests in flight");
    let _ = stop.send(true);
    let grace = Duration::from_secs(reloader.current().config.shutdown_grace_secs);
    if tokio::time::timeout(grace, tasks).await.is_err() {
        log::warn(format_args!(
            "connections still open after {}s; closing them",
            grace.as_secs()
        ));
    }
    log::info("stopped");
}

/// Sent from a task on the serving runtime: if the event loop wedges, the pings stop and
/// systemd restarts us.
async fn watchdog(notify: Notifier, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        notify.watchdog();
    }
}

/// Binds every configured address; fails on the first that cannot be bound.
pub fn bind(config: &Config) -> Result<Vec<Listener>, StartError> {
    let https = config.listen.https.iter().map(|l| (l, Proto::Https));
    let http = config.listen.http.iter().map(|l| (l, Proto::Http));
    https
        .chain(http)
        .map(|(l, proto)| bind_one(l.address, proto, l.proxy_protocol))
        .collect()
}

fn bind_one(address: SocketAddr, proto: Proto, proxy: bool) -> Result<Listener, StartError> {
    Listener::bind(address, proto, proxy).map_err(|source| StartError::Bind {
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

fn log_domains(config: &Config) {
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

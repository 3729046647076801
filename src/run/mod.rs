//! The daemon's life: load, bind (or take systemd's sockets), warm up, tell systemd we are
//! ready, then serve, reloading on SIGHUP and on renewed certificate files, until SIGTERM or
//! SIGINT; then drain and exit.

mod client;
mod error;
mod listeners;

use std::path::Path;
use std::time::Duration;

use std::sync::Arc;

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::{mpsc, watch};

use crate::build::Built;
use crate::config;
use crate::log;
use crate::reload::{Reloader, Serving};
use crate::server::{Proto, Shared, Shutdown, scrape};
use crate::systemd::{Notifier, activation};
use client::InProcess;
pub use client::acme;
pub use error::StartError;
pub use listeners::{bind, start};
use listeners::{confirm_through, log_domains, open_listeners};

/// Loads the config at `path` and serves it until SIGTERM or SIGINT.
pub fn run(path: &Path) -> Result<(), StartError> {
    in_runtime(start_and_serve(path))
}

/// Runs `main` with logging and the runtime set up; flushes the log after.
fn in_runtime(main: impl Future<Output = Result<(), StartError>>) -> Result<(), StartError> {
    log::init(crate::systemd::journal_stderr());
    let result = runtime()
        .map_err(StartError::Runtime)
        .and_then(|runtime| runtime.block_on(main));
    log::flush();
    result
}

/// One thread per CPU this process may run on; a single CPU (pinned, or a one-core VM) gets
/// the current-thread scheduler, which does the same work without cross-thread wake-ups.
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

/// The signals we act on, installed first thing: SIGHUP's default action would kill the
/// process, and an operator (or a reload unit) may send one while it still loads.
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

async fn start_and_serve(path: &Path) -> Result<(), StartError> {
    let mut signals = Signals::install()?;
    // Before any descriptor of ours is opened: from 3 on, they are systemd's.
    let activated = activation::listeners().map_err(StartError::Activation)?;
    let notify = Notifier::from_env();
    let loaded = config::load(path)?;
    let built = Built::new(loaded.config)?;
    for w in loaded
        .warnings
        .iter()
        .chain(&built.warnings)
        .chain(&built.refused)
    {
        log::warn(w);
    }
    let socket_activated = !activated.is_empty();
    let (listeners, metrics_listener) = open_listeners(&built, activated)?;
    let confirm = confirm_through(&listeners, &built.config);
    log_domains(&built.config);
    crate::tls::warm_up(&built.pairs);
    let control = crate::control::listen().map_err(StartError::Control)?;
    let certs = built.certs.clone().shared();
    let shared = Shared::new(built.generation().current(), certs.clone(), Arc::default())
        .map_err(StartError::Tls)?;
    let serving = Serving {
        current: shared.current.clone(),
        certs,
        metrics: shared.metrics.clone(),
        challenges: shared.challenges.clone(),
        tls_listeners: listeners.iter().any(|l| l.proto == Proto::Https),
    };
    let (stop, shutdown) = Shutdown::channel();
    if let Some(l) = metrics_listener {
        log::info(format_args!("metrics on {}/metrics", l.address()));
        tokio::spawn(scrape::serve(l, shared.metrics.clone(), shutdown.clone()));
    }
    let mut acme = InProcess::new(confirm, socket_activated);
    acme.follow(&built.config);
    let tasks = start(listeners, shared, shutdown);
    let mut reloader = Reloader::new(path.to_owned(), built, serving, notify.clone());
    reloader.poll_acme();
    log::start_writer();
    notify.ready(&reloader.status());
    if let Some(every) = notify.watchdog_interval() {
        tokio::spawn(watchdog(notify.clone(), every));
    }
    until_stop_signal(&mut signals, control, &mut reloader, &mut acme).await;
    notify.stopping();
    drain(&mut reloader, stop, tasks).await;
    Ok(())
}

/// How often pending ACME challenges and the client's status are looked at (two or three
/// `stat()` calls): the client waits for its challenge to be answered before the CA is asked
/// to validate, so this is the delay each order pays.
const ACME_POLL: Duration = Duration::from_secs(1);

/// Reloads on SIGHUP and on `wellknownd reload`, and checks for renewed certificates, until
/// SIGTERM or SIGINT.
async fn until_stop_signal(
    signals: &mut Signals,
    mut control: Option<mpsc::Receiver<crate::control::Request>>,
    reloader: &mut Reloader,
    acme: &mut InProcess,
) {
    // Intervals, not a sleep per turn: a sleep re-created on every turn of the loop would be
    // reset by every other event, and the shorter one would starve the longer.
    let every = |secs: u64| {
        let mut tick = tokio::time::interval(Duration::from_secs(secs.max(1)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick
    };
    let mut check = reloader.config().certificate_check_secs;
    let mut check_tick = every(check);
    let mut acme_tick = every(ACME_POLL.as_secs());
    loop {
        let now = reloader.config().certificate_check_secs;
        if now != check {
            (check, check_tick) = (now, every(now));
        }
        tokio::select! {
            _ = signals.hup.recv() => {
                let _ = reloader.reload();
                acme.follow(reloader.config());
            }
            Some(request) = next_request(&mut control) => {
                let verdict = reloader.reload().map(|()| reloader.status());
                acme.follow(reloader.config());
                request.answer(verdict.map_err(|e| e.to_string()));
            }
            _ = signals.term.recv() => return,
            _ = signals.int.recv() => return,
            _ = check_tick.tick(), if check > 0 => reloader.check_certificates(),
            _ = acme_tick.tick(), if reloader.config().acme.is_some() => reloader.poll_acme(),
        }
    }
}

/// The next control request; pending for ever without a control socket.
async fn next_request(
    control: &mut Option<mpsc::Receiver<crate::control::Request>>,
) -> Option<crate::control::Request> {
    match control {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
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
    let delay = reloader.config().health.shutdown_delay;
    if !delay.is_zero() {
        log::info(format_args!(
            "stopping in {}s: health endpoint now answers 503",
            delay.as_secs()
        ));
    }
    tokio::time::sleep(delay).await;
    log::info("stopping: finishing requests in flight");
    let _ = stop.send(true);
    let grace = Duration::from_secs(reloader.config().shutdown_grace_secs);
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

//! Listeners and connections: [`serve`] accepts on one listener until shutdown, then waits
//! for its connections to finish. `main`, the tests and socket activation all call it.

mod conn;
mod h1;
mod io;
pub mod listen;
pub mod proxy;
mod service;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc, watch};
use tokio_rustls::TlsAcceptor;

use crate::log;
use crate::metrics::Metrics;
use crate::state::State;
pub use conn::Protocols;
pub use listen::{Listener, Proto};

/// What every connection needs. Cheap to clone.
#[derive(Clone)]
pub struct Shared {
    /// The state current now; a reload sends a new one.
    pub state: watch::Receiver<Arc<State>>,
    pub tls: Option<TlsAcceptor>,
    pub metrics: Arc<Metrics>,
    /// One permit per open connection, across all listeners (`limits.max_connections`).
    connections: Arc<Semaphore>,
}

impl Shared {
    /// Shares `state` (and the TLS config built over it) with every listener; the returned
    /// sender swaps in a new state.
    pub fn new(state: State) -> Result<(watch::Sender<Arc<State>>, Shared), rustls::Error> {
        let max = connection_limit(state.config.limits.max_connections);
        let (tx, rx) = watch::channel(Arc::new(state));
        let tls = crate::tls::server_config(rx.clone())?;
        let shared = Shared {
            state: rx,
            tls: Some(TlsAcceptor::from(tls)),
            metrics: Arc::default(),
            connections: Arc::new(Semaphore::new(max)),
        };
        Ok((tx, shared))
    }
}

/// Descriptors kept free for listeners, certificate files, the journal and sd_notify.
const RESERVED_FDS: usize = 64;

/// `max_connections`, lowered to what the open-file limit allows: past it, accept() would
/// fail with EMFILE for every client at once.
fn connection_limit(configured: usize) -> usize {
    let Some(fds) = open_file_limit() else {
        return configured;
    };
    let allowed = fds.saturating_sub(RESERVED_FDS).max(1);
    if configured > allowed {
        log::warn(format_args!(
            "limits.max_connections = {configured}, but the open-file limit ({fds}) allows {allowed}; raise it (LimitNOFILE=) to allow more"
        ));
        return allowed;
    }
    configured
}

/// The soft RLIMIT_NOFILE, from /proc (no system call wrapper needed).
fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// The receiving end of a shutdown signal; `wait` returns once `true` was sent or the sender
/// is gone.
#[derive(Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    pub fn channel() -> (watch::Sender<bool>, Shutdown) {
        let (tx, rx) = watch::channel(false);
        (tx, Shutdown(rx))
    }

    pub async fn wait(&mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

/// After an accept error (EMFILE, ENFILE, ENOBUFS), wait this long before the next accept:
/// retrying at once spins a core while nothing has been freed.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Accepts connections on `listener` until `shutdown`, at most `max_connections` open at once
/// across all listeners (beyond it, clients wait in the kernel's queue); then closes the listener, lets every
/// connection finish (HTTP/1.1 closes when idle, HTTP/2 sends GOAWAY) and returns when they
/// have. The caller bounds that wait with its grace period.
pub async fn serve(listener: Listener, shared: Shared, mut shutdown: Shutdown) {
    // Each connection task holds a sender; recv() returns None once all are gone.
    let (running, mut finished) = mpsc::channel::<()>(1);
    let mut failing = false;
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.tcp.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    if !failing {
                        log::error(format_args!("accept on {}: {e}; retrying", listener.address()));
                    }
                    failing = true;
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = shutdown.wait() => break,
        };
        failing = false;
        // At the limit, this connection waits here (and the listener with it: later clients
        // wait in the kernel's queue). Taking the permit only once a client is there keeps
        // one idle listener from holding a slot another listener needs.
        let permit = tokio::select! {
            permit = shared.connections.clone().acquire_owned() => permit,
            () = shutdown.wait() => break,
        };
        let Ok(permit) = permit else { break };
        let (shared, shutdown, running) = (shared.clone(), shutdown.clone(), running.clone());
        let (proto, proxy) = (listener.proto, listener.proxy_protocol);
        tokio::spawn(async move {
            conn::handle(stream, peer, proto, proxy, shared, shutdown).await;
            drop((permit, running));
        });
    }
    drop(listener);
    drop(running);
    let _ = finished.recv().await;
}

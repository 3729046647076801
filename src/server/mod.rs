//! Listeners and connections: [`serve`] accepts on one listener until shutdown, then waits
//! for its connections to finish. `main`, the tests and socket activation all call it.
//!
//! A connection's way: accept → per-address limit ([`per_ip`]) → connection limit → PROXY
//! header ([`proxy`]) → TLS → HTTP/1.1 ([`h1`], parked when idle, on a [`wire`] that fixes
//! hyper's own error answers) or HTTP/2 → requests answered by [`service`] → ended by the
//! [`supervise`] rules or at shutdown. Reads the current [`Generation`] and the TLS
//! certificate store; imports `http`, `tls`, `metrics` and `config`, and none of them
//! imports this.

mod conn;
pub mod generation;
mod h1;
mod io;
pub mod listen;
mod per_ip;
pub mod proxy;
pub mod scrape;
mod service;
mod supervise;
mod track;
mod wire;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc, watch};
use tokio_rustls::TlsAcceptor;

use crate::log;
use crate::metrics::Metrics;
pub use generation::{Current, Generation};
pub use listen::{Listener, Proto};

/// What every connection needs. Cheap to clone.
#[derive(Clone)]
pub struct Shared {
    /// The generation serving now; a reload stores a new one.
    pub current: Current,
    tls: Option<TlsAcceptor>,
    pub metrics: Arc<Metrics>,
    /// One permit per open connection, across all listeners (`limits.max_connections`).
    connections: Arc<Semaphore>,
    per_ip: Arc<per_ip::PerIp>,
}

impl Shared {
    /// Serves `current` (and TLS with the certificates in `certs`) to every listener it is
    /// given to. The connection limit is sized once, here.
    pub fn new(
        current: Current,
        certs: crate::tls::Certs,
        metrics: Arc<Metrics>,
    ) -> Result<Shared, rustls::Error> {
        let max = connection_limit(current.load().limits.max_connections);
        let tls = crate::tls::server_config(certs)?;
        Ok(Shared {
            current,
            tls: Some(TlsAcceptor::from(tls)),
            metrics,
            connections: Arc::new(Semaphore::new(max)),
            per_ip: Arc::default(),
        })
    }

    /// A slot for a connection from `client` under `limits.max_connections_per_ip`, or
    /// `None` (counted) when its address has no slot left.
    fn admit(&self, client: SocketAddr) -> Option<per_ip::Slot> {
        let max = self.current.load().limits.max_connections_per_ip;
        let slot = self.per_ip.admit(client.ip(), max);
        if slot.is_none() {
            self.metrics.refused_per_ip();
        }
        slot
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
pub(crate) const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Accepts connections on `listener` until `shutdown`, at most `max_connections` open at once
/// across all listeners (beyond it, clients wait in the kernel's queue) and at most
/// `max_connections_per_ip` per address (beyond it, closed at once); then closes the
/// listener, lets every connection finish (HTTP/1.1 closes when idle, HTTP/2 sends GOAWAY)
/// and returns when they have. The caller bounds that wait with its grace period.
pub async fn serve(listener: Listener, shared: Shared, mut shutdown: Shutdown) {
    // Each connection task holds a sender; recv() returns None once all are gone.
    let (running, mut finished) = mpsc::channel::<()>(1);
    let mut failing = false;
    let options = listener.options;
    // Where the address is only known from a PROXY header, the connection counts once read.
    let by_peer = options.per_ip_limit && !options.proxy_protocol;
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
        let slot = match by_peer {
            true => match shared.admit(peer) {
                Some(slot) => Some(slot),
                None => continue,
            },
            false => None,
        };
        // At the limit, this connection waits here (and the listener with it: later clients
        // wait in the kernel's queue). Taking the permit only once a client is there keeps
        // one idle listener from holding a slot another listener needs.
        let permit = tokio::select! {
            permit = shared.connections.clone().acquire_owned() => permit,
            () = shutdown.wait() => break,
        };
        let Ok(permit) = permit else { break };
        let accepted = conn::Accepted {
            stream,
            peer,
            proto: listener.proto,
            options,
            slot,
        };
        let (shared, shutdown, running) = (shared.clone(), shutdown.clone(), running.clone());
        tokio::spawn(async move {
            conn::handle(accepted, shared, shutdown).await;
            drop((permit, running));
        });
    }
    drop(listener);
    drop(running);
    let _ = finished.recv().await;
}

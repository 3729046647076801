//! What every connection shares: the current generation, the TLS acceptor, the metrics and
//! the two connection limits; and the shutdown signal.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsAcceptor;

use super::generation::Current;
use super::per_ip;
use crate::challenges::{Challenges, Pending};
use crate::log;
use crate::metrics::Metrics;

/// What every connection needs. Cheap to clone.
#[derive(Clone)]
pub struct Shared {
    /// The generation serving now; a reload stores a new one.
    pub current: Current,
    pub(super) tls: Option<TlsAcceptor>,
    pub metrics: Arc<Metrics>,
    /// ACME challenges being answered (TLS-ALPN-01 by the resolver, HTTP-01 by the
    /// redirect listeners).
    pub challenges: Pending,
    /// One permit per open connection, across all listeners (`limits.max_connections`).
    pub(super) connections: Arc<Semaphore>,
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
        let challenges = Challenges::shared();
        let tls = crate::tls::server_config(certs, challenges.clone())?;
        Ok(Shared {
            current,
            tls: Some(TlsAcceptor::from(tls)),
            metrics,
            challenges,
            connections: Arc::new(Semaphore::new(max)),
            per_ip: Arc::default(),
        })
    }

    /// Whether `peer` is one of `listen.trusted_proxies`, on a plain listener (TLS and port-80
    /// listeners are reached by clients directly, or through a PROXY header).
    pub(super) fn is_trusted(&self, peer: SocketAddr, proto: super::Proto) -> bool {
        proto == super::Proto::Http
            && self
                .current
                .load()
                .trusted_proxies
                .iter()
                .any(|n| n.contains(peer.ip()))
    }

    /// A slot for a connection from `client` under `limits.max_connections_per_ip`, or
    /// `None` (counted) when its address has no slot left.
    pub(super) fn admit(&self, client: SocketAddr) -> Option<per_ip::Slot> {
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

    /// Whether shutdown was asked for (a sender gone counts as asked).
    pub fn requested(&self) -> bool {
        *self.0.borrow() || self.0.has_changed().is_err()
    }

    pub async fn wait(&mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

/// After an accept error (EMFILE, ENFILE, ENOBUFS), wait this long before the next accept:
/// retrying at once spins a core while nothing has been freed.
pub(crate) const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

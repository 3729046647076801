//! Listeners and connections: [`serve`] accepts on one listener until shutdown, then lets the
//! connections in flight finish. `main`, the tests and socket activation all call it.

mod conn;
pub mod listen;

use std::sync::Arc;
use std::time::Duration;

use hyper_util::server::graceful::GracefulShutdown;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::log;
use crate::state::State;
pub use listen::{Listener, Proto};

/// What every connection needs: the current state and, for TLS listeners, the acceptor.
/// Cheap to clone.
#[derive(Clone)]
pub struct Shared {
    pub state: watch::Receiver<Arc<State>>,
    pub tls: Option<TlsAcceptor>,
    protocols: conn::Protocols,
}

impl Shared {
    /// Shares `state` (and the TLS config built over it) with every listener; the returned
    /// sender swaps in a new state.
    pub fn new(state: State) -> Result<(watch::Sender<Arc<State>>, Shared), rustls::Error> {
        let (tx, rx) = watch::channel(Arc::new(state));
        let tls = crate::tls::server_config(rx.clone())?;
        Ok((
            tx,
            Shared {
                state: rx,
                tls: Some(TlsAcceptor::from(tls)),
                protocols: conn::Protocols::new(),
            },
        ))
    }
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

/// Accepts connections on `listener` until `shutdown`, then closes the listener, asks every
/// open connection to finish (HTTP/1.1 closes when idle, HTTP/2 sends GOAWAY) and returns
/// when they have. The caller bounds that wait with its grace period.
pub async fn serve(listener: Listener, shared: Shared, mut shutdown: Shutdown) {
    let graceful = GracefulShutdown::new();
    let mut failing = false;
    loop {
        tokio::select! {
            accepted = listener.tcp.accept() => match accepted {
                Ok((stream, peer)) => {
                    failing = false;
                    let watcher = graceful.watcher();
                    tokio::spawn(conn::handle(stream, peer, listener.proto, shared.clone(), watcher));
                }
                Err(e) => {
                    if !failing {
                        log::error(format_args!("accept on {}: {e}; retrying", listener.address()));
                    }
                    failing = true;
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
            () = shutdown.wait() => break,
        }
    }
    drop(listener);
    graceful.shutdown().await;
}

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
mod forwarded;
pub mod generation;
mod h1;
mod io;
pub mod listen;
mod per_ip;
pub mod proxy;
pub mod scrape;
mod service;
mod shared;
mod supervise;
mod track;
mod wire;

use tokio::sync::mpsc;

use crate::log;
pub use generation::{Current, Generation};
pub use listen::{Listener, Proto};
pub(crate) use shared::ACCEPT_BACKOFF;
pub use shared::{Shared, Shutdown};

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
        // A trusted reverse proxy carries many clients on its connections: not capped per
        // address (its clients are named by X-Forwarded-For instead).
        let slot = match by_peer && !shared.is_trusted(peer, listener.proto) {
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

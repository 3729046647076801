//! One connection: the TLS handshake (under its own timeout, in the connection's task, never
//! in the accept loop), then HTTP/2 or HTTP/1.1 as ALPN chose, answering each request with
//! [`route`] over the state current at that moment.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::Watcher;
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::{Proto, Shared};
use crate::http::{Body, route};
use crate::state::State;

/// A client gets this long to finish the TLS handshake: a slowloris that opens connections
/// and trickles its ClientHello would otherwise hold a socket and a task for ever.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// HTTP/1.1: a request head must arrive within this time, so a client trickling header bytes
/// is closed (slowloris). Needs hyper's timer, without which it silently does nothing.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// A request head larger than this is refused: documents need a few hundred bytes, and an
/// unbounded buffer lets one client grow our memory at will.
const MAX_HEADER_BYTES: usize = 16 * 1024;
/// HTTP/2 streams open at once per connection: bounds the work one connection can queue.
const MAX_STREAMS: u32 = 100;

/// The HTTP/1.1 and HTTP/2 settings, built once and shared by every connection.
#[derive(Clone)]
pub struct Protocols {
    h1: http1::Builder,
    h2: http2::Builder<TokioExecutor>,
}

impl Protocols {
    pub fn new() -> Protocols {
        let mut h1 = http1::Builder::new();
        h1.timer(TokioTimer::new())
            .header_read_timeout(HEADER_TIMEOUT)
            .max_buf_size(MAX_HEADER_BYTES);
        let mut h2 = http2::Builder::new(TokioExecutor::new());
        h2.timer(TokioTimer::new())
            .max_concurrent_streams(MAX_STREAMS)
            .max_header_list_size(MAX_HEADER_BYTES as u32);
        Protocols { h1, h2 }
    }
}

pub async fn handle(
    stream: TcpStream,
    _peer: SocketAddr,
    proto: Proto,
    shared: Shared,
    watcher: Watcher,
) {
    // Responses are one small write each: waiting for Nagle would only add latency.
    let _ = stream.set_nodelay(true);
    let service = service_fn(move_router(shared.state.clone()));
    let protocols = &shared.protocols;
    match (proto, &shared.tls) {
        (Proto::Http, _) => {
            let _ = watcher
                .watch(protocols.h1.serve_connection(TokioIo::new(stream), service))
                .await;
        }
        (Proto::Https, Some(acceptor)) => {
            let Ok(Ok(tls)) =
                tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
            else {
                return;
            };
            let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
            let io = TokioIo::new(tls);
            if h2 {
                let _ = watcher
                    .watch(protocols.h2.serve_connection(io, service))
                    .await;
            } else {
                let _ = watcher
                    .watch(protocols.h1.serve_connection(io, service))
                    .await;
            }
        }
        (Proto::Https, None) => {}
    }
}

/// The per-request handler: read the current state, route, answer. Nothing else.
fn move_router(
    state: watch::Receiver<Arc<State>>,
) -> impl Fn(Request<Incoming>) -> std::future::Ready<Result<Response<Body>, Infallible>> + Clone {
    move |req| std::future::ready(Ok(route(&state.borrow(), &req)))
}

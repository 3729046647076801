//! One connection: the PROXY header and the TLS handshake (under the handshake timeout, in the
//! connection's own task), then HTTP/2 or HTTP/1.1 as ALPN chose, each request answered from
//! the state current at that moment, until the client leaves, a timeout fires or the daemon
//! shuts down.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulConnection;
use tokio::net::TcpStream;

use super::io::{Activity, ConnIo};
use super::service::Service;
use super::{Proto, Shared, Shutdown, h1, proxy};
use crate::config::Limits;

/// HTTP/2 streams open at once per connection: bounds the work one connection can queue.
const MAX_STREAMS: u32 = 100;
/// HTTP/2 streams a client may open and reset before we answer them: a rapid-reset client
/// (CVE-2023-44487) gets GOAWAY after this many instead of making us do the work.
const MAX_PENDING_RESETS: usize = 20;
/// HTTP/2 flow-control window per stream: documents take no body, so a client gets to send
/// little before it is ignored.
const STREAM_WINDOW: u32 = 16 * 1024;

/// The HTTP/1.1 and HTTP/2 settings for one config generation, shared by its connections.
#[derive(Clone, Debug)]
pub struct Protocols {
    h1: http1::Builder,
    h2: http2::Builder<TokioExecutor>,
}

impl Protocols {
    pub fn new(limits: &Limits) -> Protocols {
        let mut h1 = http1::Builder::new();
        // Request-head timing is ours (see `expiry`): hyper's header timer would also close
        // idle keep-alive connections after the header timeout.
        h1.timer(TokioTimer::new())
            .header_read_timeout(None)
            .max_header_size(limits.max_header_bytes)
            .max_buf_size(limits.max_header_bytes.max(8192));
        let mut h2 = http2::Builder::new(TokioExecutor::new());
        h2.timer(TokioTimer::new())
            .max_concurrent_streams(MAX_STREAMS)
            .max_pending_accept_reset_streams(MAX_PENDING_RESETS)
            .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
            .initial_stream_window_size(STREAM_WINDOW);
        Protocols { h1, h2 }
    }
}

enum Opened {
    Plain(ConnIo),
    Tls(Box<tokio_rustls::server::TlsStream<ConnIo>>),
}

/// Why a connection ended before its first request could be read.
enum Refused {
    /// A missing or malformed PROXY header: the balancer is misconfigured, or it is not one.
    Proxy,
    /// Handshake failed or timed out; counted in the metrics.
    Tls,
}

pub async fn handle(
    stream: TcpStream,
    peer: SocketAddr,
    proto: Proto,
    proxy: bool,
    shared: Shared,
    shutdown: Shutdown,
) {
    let state = shared.state.borrow().clone();
    let limits = &state.config.limits;
    let _open = shared.metrics.connection_opened();
    // Responses are one small write each: waiting for Nagle would only add latency.
    let _ = stream.set_nodelay(true);
    let activity = Activity::new();
    let opening = open(stream, peer, proto, proxy, &shared, &activity);
    let (client, opened) = match tokio::time::timeout(limits.handshake_timeout, opening).await {
        Ok(Ok(opened)) => opened,
        Ok(Err(Refused::Proxy)) => return,
        Ok(Err(Refused::Tls)) | Err(_) => {
            if proto == Proto::Https {
                shared.metrics.handshake_failed();
            }
            return;
        }
    };
    activity.expect_request();
    let service = Service {
        state: shared.state.clone(),
        metrics: shared.metrics.clone(),
        client,
    };
    let h1 = &state.protocols.h1;
    match opened {
        Opened::Tls(tls) if tls.get_ref().1.alpn_protocol() == Some(b"h2") => {
            let conn = state
                .protocols
                .h2
                .serve_connection(TokioIo::new(tls), service);
            drive_h2(conn, &activity, limits, shutdown).await;
        }
        Opened::Tls(tls) => h1::serve(tls, service, h1, &activity, limits, shutdown).await,
        Opened::Plain(io) => h1::serve(io, service, h1, &activity, limits, shutdown).await,
    }
}

/// Reads the PROXY header where enabled and does the TLS handshake: the client's address and
/// the stream to speak HTTP on.
async fn open(
    mut stream: TcpStream,
    peer: SocketAddr,
    proto: Proto,
    proxy: bool,
    shared: &Shared,
    activity: &Arc<Activity>,
) -> Result<(SocketAddr, Opened), Refused> {
    let (client, prefix) = match proxy {
        true => proxy::read_header(&mut stream)
            .await
            .map_err(|_| Refused::Proxy)?,
        false => (None, Bytes::new()),
    };
    let io = ConnIo::new(stream, prefix, activity.clone());
    let opened = match (proto, &shared.tls) {
        (Proto::Http, _) => Opened::Plain(io),
        (Proto::Https, Some(acceptor)) => Opened::Tls(Box::new(
            acceptor.accept(io).await.map_err(|_| Refused::Tls)?,
        )),
        (Proto::Https, None) => return Err(Refused::Tls),
    };
    Ok((client.unwrap_or(peer), opened))
}

pub(super) enum Expired {
    /// A request head took longer than the header timeout (slowloris): close at once.
    Request,
    /// No traffic for the idle timeout: close gracefully.
    Idle,
    /// HTTP/1.1, between requests, no traffic for a tick: park (see [`super::h1`]).
    Quiet,
}

/// Runs an HTTP/2 connection until it ends; closes it on a timeout, and gracefully (with
/// GOAWAY) on shutdown or when idle.
async fn drive_h2<C: GracefulConnection>(
    conn: C,
    activity: &Activity,
    limits: &Limits,
    mut shutdown: Shutdown,
) {
    tokio::pin!(conn);
    let expired = expiry(activity, limits, false, false);
    tokio::pin!(expired);
    let mut closing = false;
    loop {
        tokio::select! {
            _ = conn.as_mut() => return,
            kind = expired.as_mut() => match kind {
                Expired::Request => return,
                // Idle again after GOAWAY: the client ignores it.
                Expired::Idle | Expired::Quiet if closing => return,
                Expired::Idle | Expired::Quiet => {
                    conn.as_mut().graceful_shutdown();
                    closing = true;
                    expired.set(expiry(activity, limits, false, false));
                }
            },
            () = shutdown.wait(), if !closing => {
                conn.as_mut().graceful_shutdown();
                closing = true;
            }
        }
    }
}

/// How often a connection's timeouts are checked: a quarter of the shortest timeout, between
/// 250 ms and 1 s. Timeouts fire within one tick of their due time; in exchange a request
/// costs no clock read and no timer, and an idle connection one wake-up a second at most.
pub(super) fn tick(limits: &Limits) -> Duration {
    (limits.header_timeout.min(limits.idle_timeout) / 4)
        .clamp(Duration::from_millis(250), Duration::from_secs(1))
}

/// When this connection's timeout fires. HTTP/1.1: a request head must be answered within the
/// header timeout of its first byte (or of the connection's start); otherwise the client is
/// trickling (slowloris). Both protocols: no traffic for the idle timeout. HTTP/2 multiplexes,
/// so only idleness counts there; its own limits (streams, header list, resets) bound the rest.
/// With `park`, an HTTP/1.1 connection between requests is [`Expired::Quiet`] after one tick
/// without traffic.
pub(super) async fn expiry(activity: &Activity, limits: &Limits, h1: bool, park: bool) -> Expired {
    let tick = tick(limits);
    let mut last = activity.sample();
    let (mut in_request_for, mut quiet_for) = (Duration::ZERO, Duration::ZERO);
    loop {
        tokio::time::sleep(tick).await;
        let now = activity.sample();
        in_request_for = match (h1 && now.in_request, now.requests == last.requests) {
            (true, true) => in_request_for + tick,
            (true, false) => tick,
            (false, _) => Duration::ZERO,
        };
        quiet_for = if now.traffic == last.traffic {
            quiet_for + tick
        } else {
            Duration::ZERO
        };
        if in_request_for > limits.header_timeout {
            return Expired::Request;
        }
        if quiet_for >= limits.idle_timeout {
            return Expired::Idle;
        }
        if park && !now.in_request && quiet_for >= tick {
            return Expired::Quiet;
        }
        last = now;
    }
}

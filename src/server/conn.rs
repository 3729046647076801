//! One connection: the PROXY header and the TLS handshake (under the handshake timeout, in the
//! connection's own task), the per-address limit where the address is only known from the
//! PROXY header, then HTTP/2 or HTTP/1.1 as ALPN chose, under the [`supervise`] rules, until
//! the client leaves, a rule ends it or the daemon shuts down.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::server::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;

use super::io::Prefixed;
use super::listen::Proto;
use super::per_ip::Slot;
use super::service::Service;
use super::shared::{Shared, Shutdown};
use super::supervise::{Supervised, Watch, supervise};
use super::track::Requests;
use super::{h1, proxy};
use crate::challenges::ACME_TLS_ALPN;
use crate::config::ListenOptions;

type Tls = tokio_rustls::server::TlsStream<Prefixed<TcpStream>>;

enum Opened {
    Plain(Prefixed<TcpStream>),
    /// Boxed, here and in HTTP/1.1's parked wait: rustls' state is kilobytes, and inline it
    /// would grow every connection task by several copies of it.
    Tls(Box<Tls>),
}

/// Why a connection ended before its first request could be read.
enum Refused {
    /// A missing or malformed PROXY header: the balancer is misconfigured, or it is not one.
    Proxy,
    /// Handshake failed or timed out; counted in the metrics.
    Tls,
}

/// A connection as accepted: its socket, peer, listener, and its per-address slot when
/// the listener counts by peer.
pub(super) struct Accepted {
    pub stream: TcpStream,
    pub peer: SocketAddr,
    pub proto: Proto,
    pub options: ListenOptions,
    pub slot: Option<Slot>,
}

pub(super) async fn handle(accepted: Accepted, shared: Shared, mut shutdown: Shutdown) {
    let generation = shared.current.load_full();
    let limits = &generation.limits;
    let _open = shared.metrics.connection_opened();
    // Responses are one small write each: waiting for Nagle would only add latency.
    let _ = accepted.stream.set_nodelay(true);
    let (proto, proxied) = (accepted.proto, accepted.options.proxy_protocol);
    let mut slot = accepted.slot;
    let opening = open(accepted.stream, accepted.peer, proto, proxied, &shared);
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
    if proxied && accepted.options.per_ip_limit {
        slot = match shared.admit(client) {
            Some(slot) => Some(slot),
            None => return,
        };
    }
    let alpn = |tls: &Tls, p: &[u8]| tls.get_ref().1.alpn_protocol() == Some(p);
    if matches!(&opened, Opened::Tls(tls) if alpn(tls, ACME_TLS_ALPN)) {
        // RFC 8737 §3: a TLS-ALPN-01 validation ends with the handshake.
        return;
    }
    let h2 = matches!(&opened, Opened::Tls(tls) if alpn(tls, b"h2"));
    let requests = Arc::new(Requests::new(h2));
    let service = Service::new(&shared, client, requests.clone(), proto);
    let mut watch = Watch::new(limits, &requests, !h2);
    let h1 = &generation.h1;
    match opened {
        Opened::Tls(tls) if h2 => {
            let conn = generation.h2.serve_connection(TokioIo::new(tls), service);
            tokio::pin!(conn);
            supervise(&mut H2(conn), &mut watch, false, &mut shutdown).await;
        }
        Opened::Tls(tls) => h1::serve(tls, service, h1, &shared, &mut watch, shutdown).await,
        Opened::Plain(io) => h1::serve(io, service, h1, &shared, &mut watch, shutdown).await,
    }
    drop(slot);
}

/// Reads the PROXY header where enabled and does the TLS handshake: the client's address and
/// the stream to speak HTTP on.
async fn open(
    mut stream: TcpStream,
    peer: SocketAddr,
    proto: Proto,
    proxied: bool,
    shared: &Shared,
) -> Result<(SocketAddr, Opened), Refused> {
    let (client, prefix) = match proxied {
        true => proxy::read_header(&mut stream)
            .await
            .map_err(|_| Refused::Proxy)?,
        false => (None, Bytes::new()),
    };
    let io = Prefixed::new(stream, prefix);
    let opened = match (proto, &shared.tls) {
        (Proto::Http | Proto::Redirect, _) => Opened::Plain(io),
        (Proto::Https, Some(acceptor)) => Opened::Tls(Box::new(
            acceptor.accept(io).await.map_err(|_| Refused::Tls)?,
        )),
        (Proto::Https, None) => return Err(Refused::Tls),
    };
    Ok((client.unwrap_or(peer), opened))
}

/// An HTTP/2 connection under the supervisor: graceful is GOAWAY.
struct H2<'a>(Pin<&'a mut http2::Connection<TokioIo<Box<Tls>>, Service, TokioExecutor>>);

impl Supervised for H2<'_> {
    fn poll_run(&mut self, cx: &mut Context<'_>) -> Poll<bool> {
        self.0.as_mut().poll(cx).map(|r| r.is_ok())
    }

    fn graceful(&mut self) {
        self.0.as_mut().graceful_shutdown();
    }
}

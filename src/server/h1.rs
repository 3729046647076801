//! HTTP/1.1 connections, parked while idle. hyper keeps its connection state, an 8 KiB read
//! buffer and an 8 KiB header buffer for as long as a connection lives, idle or not. Once
//! the supervisor finds one quiet between requests, the hyper connection is ended without
//! closing the stream (`poll_without_shutdown`) and all that is freed; the stream waits for
//! the client's next bytes with a 64-byte read (nginx frees its buffers on idle keep-alive
//! connections the same way), and a new hyper connection takes over with those bytes in
//! front.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes};
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::io::Prefixed;
use super::service::Service;
use super::shared::{Shared, Shutdown};
use super::supervise::{Supervised, Verdict, Watch, supervise};
use super::track::Requests;
use super::wire::Wire;

/// Parks between two heap trims ([`crate::sys::trim_heap`]). A trim walks the whole heap and
/// holds the thread meanwhile (milliseconds on a heap of a few hundred MiB), so it is
/// amortised over this many parks.
const PARKS_PER_TRIM: usize = 1000;

/// How long closing a stream may take (TLS close_notify, then FIN): a client that stopped
/// reading must not keep the task alive.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// Serves HTTP/1.1 on `io` until the client leaves, a rule ends it or the daemon shuts down,
/// parking the connection whenever it is quiet between requests.
pub(super) async fn serve<IO>(
    io: IO,
    mut service: Service,
    builder: &http1::Builder,
    shared: &Shared,
    watch: &mut Watch<'_>,
    mut shutdown: Shutdown,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let automatic = shared.current.load().router.fixed.automatic.clone();
    let mut io = Prefixed::new(io, Bytes::new());
    loop {
        watch.begin();
        let wire = Wire::new(io, automatic.clone());
        let requests = service.requests();
        let mut conn = H1(
            builder.serve_connection(TokioIo::new(wire), service),
            requests,
        );
        let verdict = supervise(&mut conn, watch, true, &mut shutdown).await;
        let parts = conn.0.into_parts();
        service = parts.service;
        io = parts.io.into_inner().inner;
        io.unread(parts.read_buf);
        if verdict != Verdict::Parked {
            return close(io.io).await;
        }
        parked_one();
        let _parked = shared.metrics.connection_parked();
        io = match wait(io, watch.parked_for(), &mut shutdown).await {
            Some(io) => io,
            None => return,
        };
        if watch.past_age() {
            service.requests().close_next();
        }
    }
}

/// A hyper HTTP/1.1 connection under the supervisor: it ends without shutting its stream
/// down, so the stream can be parked.
struct H1<IO: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
    http1::Connection<TokioIo<Wire<IO>>, Service>,
    Arc<Requests>,
);

impl<IO: AsyncRead + AsyncWrite + Unpin + Send + 'static> Supervised for H1<IO> {
    fn poll_run(&mut self, cx: &mut Context<'_>) -> Poll<bool> {
        self.0.poll_without_shutdown(cx).map(|r| r.is_ok())
    }

    fn graceful(&mut self) {
        std::pin::Pin::new(&mut self.0).graceful_shutdown();
    }

    fn aged(&mut self) -> bool {
        self.1.close_next();
        false
    }
}

/// Waits, holding no buffer, up to `limit` for the client's next bytes; `None` once the
/// connection is over (the client left, the time is up, or the daemon is stopping).
async fn wait<IO>(
    mut io: Prefixed<IO>,
    limit: Duration,
    shutdown: &mut Shutdown,
) -> Option<Prefixed<IO>>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    if io.prefix.has_remaining() {
        return Some(io);
    }
    let mut first = [0u8; 64];
    tokio::select! {
        read = io.io.read(&mut first) => match read {
            Ok(n) if n > 0 => {
                io.prefix = Bytes::copy_from_slice(&first[..n]);
                return Some(io);
            }
            _ => {}
        },
        () = tokio::time::sleep(limit) => {}
        () = shutdown.wait() => {}
    }
    close(io.io).await;
    None
}

/// Counts a park and trims the heap every [`PARKS_PER_TRIM`].
fn parked_one() {
    static PARKS: AtomicUsize = AtomicUsize::new(0);
    if PARKS.fetch_add(1, Ordering::Relaxed) % PARKS_PER_TRIM == PARKS_PER_TRIM - 1 {
        crate::sys::trim_heap();
    }
}

async fn close<IO: AsyncWrite + Unpin>(mut io: IO) {
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, io.shutdown()).await;
}

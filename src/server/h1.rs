//! HTTP/1.1 connections, parked while idle. hyper keeps its connection state, an 8 KiB read
//! buffer and an 8 KiB header buffer for as long as a connection lives, idle or not. After a
//! tick without traffic between requests, the hyper connection is ended without closing the
//! stream (`poll_without_shutdown`) and all that is freed; the stream waits for the client's
//! next bytes with a 64-byte read (nginx frees its buffers on idle keep-alive connections the
//! same way), and a new hyper connection takes over with those bytes in front.

use std::future::poll_fn;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::{Buf, Bytes};
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::Shutdown;
use super::conn::{Expired, expiry, tick};
use super::io::{Activity, Prefixed};
use super::service::Service;
use crate::config::Limits;

/// Parks between two heap trims ([`crate::sys::trim_heap`]). A trim walks the whole heap and
/// holds the thread meanwhile (milliseconds on a heap of a few hundred MiB), so it is
/// amortised over this many parks.
const PARKS_PER_TRIM: usize = 1000;

/// How long closing a stream may take (TLS close_notify, then FIN): a client that stopped
/// reading must not keep the task alive.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// Serves HTTP/1.1 on `io` until the client leaves, a timeout fires or the daemon shuts down,
/// parking the connection whenever it is idle between requests.
pub async fn serve<IO>(
    io: IO,
    mut service: Service,
    builder: &http1::Builder,
    activity: &Activity,
    limits: &Limits,
    mut shutdown: Shutdown,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut io = Prefixed {
        io,
        prefix: Bytes::new(),
    };
    loop {
        let mut conn = builder.serve_connection(TokioIo::new(io), service);
        let parked = run(&mut conn, activity, limits, &mut shutdown).await;
        let parts = conn.into_parts();
        service = parts.service;
        let mut resumed = parts.io.into_inner();
        resumed.unread(parts.read_buf);
        if !parked {
            return close(resumed.io).await;
        }
        parked_one();
        io = match wait(resumed, limits, &mut shutdown).await {
            Some(io) => io,
            None => return,
        };
    }
}

/// Drives one hyper connection; true if it ended because it was parked.
async fn run<I>(
    conn: &mut http1::Connection<TokioIo<I>, Service>,
    activity: &Activity,
    limits: &Limits,
    shutdown: &mut Shutdown,
) -> bool
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let expired = expiry(activity, limits, true, true);
    tokio::pin!(expired);
    let (mut closing, mut parking) = (false, false);
    loop {
        tokio::select! {
            done = poll_fn(|cx| conn.poll_without_shutdown(cx)) => return parking && done.is_ok(),
            kind = expired.as_mut() => match kind {
                Expired::Request => return false,
                Expired::Idle if closing => return false,
                Expired::Idle | Expired::Quiet => {
                    std::pin::Pin::new(&mut *conn).graceful_shutdown();
                    parking = matches!(kind, Expired::Quiet);
                    closing = true;
                    expired.set(expiry(activity, limits, true, false));
                }
            },
            () = shutdown.wait(), if !closing => {
                std::pin::Pin::new(&mut *conn).graceful_shutdown();
                closing = true;
            }
        }
    }
}

/// Waits, holding no buffer, for the client's next bytes; `None` once the connection is over
/// (the client left, the idle timeout passed, or the daemon is stopping).
async fn wait<IO>(
    mut io: Prefixed<IO>,
    limits: &Limits,
    shutdown: &mut Shutdown,
) -> Option<Prefixed<IO>>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    if io.prefix.has_remaining() {
        return Some(io);
    }
    let mut first = [0u8; 64];
    // Parked after one quiet tick: the rest of the idle timeout is left.
    let idle = tokio::time::sleep(limits.idle_timeout.saturating_sub(tick(limits)));
    tokio::select! {
        read = io.io.read(&mut first) => match read {
            Ok(n) if n > 0 => {
                io.prefix = Bytes::copy_from_slice(&first[..n]);
                return Some(io);
            }
            _ => {}
        },
        () = idle => {}
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

//! The byte stream under every connection: a TCP socket, after any bytes read past a PROXY
//! header (which belong to what follows), and recording when it last carried traffic, so
//! the connection's timeouts need no timer per read.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;

/// When a connection last read and wrote, in nanoseconds since it opened. Shared between the
/// stream (which updates it) and the connection's timeout watch (which reads it).
#[derive(Debug)]
pub struct Activity {
    opened: Instant,
    /// Start of the current request: the first read after the last write, 0 when none.
    request_since: AtomicU64,
    last_read: AtomicU64,
    last_write: AtomicU64,
    /// Signalled when a request starts or ends, so the timeout watch re-plans (twice per
    /// request, not per read or write).
    pub changed: Notify,
}

impl Activity {
    pub fn new() -> Arc<Activity> {
        Arc::new(Activity {
            opened: Instant::now(),
            request_since: AtomicU64::new(0),
            last_read: AtomicU64::new(0),
            last_write: AtomicU64::new(0),
            changed: Notify::new(),
        })
    }

    fn now(&self) -> u64 {
        // +1: 0 means "no request in progress".
        u64::try_from(self.opened.elapsed().as_nanos()).unwrap_or(u64::MAX) + 1
    }

    pub fn elapsed(&self) -> Duration {
        self.opened.elapsed()
    }

    /// From now on the client owes us a request (after the TLS handshake: the first one).
    pub fn expect_request(&self) {
        self.request_since.store(self.now(), Ordering::Relaxed);
    }

    /// Since when a request has been arriving, if one is.
    pub fn request_since(&self) -> Option<Duration> {
        match self.request_since.load(Ordering::Relaxed) {
            0 => None,
            n => Some(Duration::from_nanos(n)),
        }
    }

    /// The last traffic in either direction (`writes_only`: responses only).
    pub fn last_traffic(&self, writes_only: bool) -> Duration {
        let w = self.last_write.load(Ordering::Relaxed);
        let r = if writes_only {
            0
        } else {
            self.last_read.load(Ordering::Relaxed)
        };
        Duration::from_nanos(w.max(r))
    }

    fn read(&self) {
        let now = self.now();
        self.last_read.store(now, Ordering::Relaxed);
        if self.request_since.load(Ordering::Relaxed) == 0 {
            self.request_since.store(now, Ordering::Relaxed);
            self.changed.notify_one();
        }
    }

    fn wrote(&self) {
        self.last_write.store(self.now(), Ordering::Relaxed);
        if self.request_since.swap(0, Ordering::Relaxed) != 0 {
            self.changed.notify_one();
        }
    }
}

pub struct ConnIo {
    tcp: TcpStream,
    /// Bytes read past the PROXY header, handed out before reading the socket again.
    prefix: Bytes,
    activity: Arc<Activity>,
}

impl ConnIo {
    pub fn new(tcp: TcpStream, prefix: Bytes, activity: Arc<Activity>) -> ConnIo {
        ConnIo {
            tcp,
            prefix,
            activity,
        }
    }
}

impl AsyncRead for ConnIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if !this.prefix.is_empty() {
            let n = this.prefix.len().min(buf.remaining());
            buf.put_slice(&this.prefix[..n]);
            this.prefix.advance(n);
            this.activity.read();
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        let result = Pin::new(&mut this.tcp).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.activity.read();
        }
        result
    }
}

impl AsyncWrite for ConnIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.tcp).poll_write(cx, data);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

//! The byte stream under every connection: a TCP socket, after any bytes read past a PROXY
//! header (which belong to what follows), counting its traffic so the connection's timeouts
//! cost no clock reads and no timer per request; and [`Prefixed`], which also resumes parked
//! HTTP/1.1 connections.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// What a connection did, as counters. Only its own task writes them (plain load + store, no
/// atomic read-modify-write); its timeout watch samples them on a coarse tick.
#[derive(Debug, Default)]
pub struct Activity {
    /// Reads and writes that moved bytes.
    traffic: AtomicU64,
    /// Requests started: a read after a write (or after [`Activity::expect_request`]).
    requests: AtomicU64,
    /// Between the first byte of a request and the first byte of its response.
    in_request: AtomicBool,
}

/// A sample of [`Activity`], compared tick to tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    pub traffic: u64,
    pub requests: u64,
    pub in_request: bool,
}

impl Activity {
    pub fn new() -> Arc<Activity> {
        Arc::default()
    }

    fn bump(counter: &AtomicU64) {
        counter.store(
            counter.load(Ordering::Relaxed).wrapping_add(1),
            Ordering::Relaxed,
        );
    }

    /// From now on the client owes us a request (after the TLS handshake: the first one).
    pub fn expect_request(&self) {
        Activity::bump(&self.requests);
        self.in_request.store(true, Ordering::Relaxed);
    }

    pub fn sample(&self) -> Sample {
        Sample {
            traffic: self.traffic.load(Ordering::Relaxed),
            requests: self.requests.load(Ordering::Relaxed),
            in_request: self.in_request.load(Ordering::Relaxed),
        }
    }

    fn read(&self) {
        Activity::bump(&self.traffic);
        if !self.in_request.load(Ordering::Relaxed) {
            self.expect_request();
        }
    }

    fn wrote(&self) {
        Activity::bump(&self.traffic);
        self.in_request.store(false, Ordering::Relaxed);
    }
}

/// The stream under every connection: a socket that counts its traffic, after any bytes
/// read past a PROXY header.
pub type ConnIo = Prefixed<Counted>;

impl ConnIo {
    pub fn new(tcp: TcpStream, prefix: Bytes, activity: Arc<Activity>) -> ConnIo {
        Prefixed {
            io: Counted { tcp, activity },
            prefix,
        }
    }
}

/// A stream with bytes already read from it in front, handed out before reading it again:
/// what was read past a PROXY header, or what a parked HTTP/1.1 connection had received.
pub struct Prefixed<IO> {
    pub io: IO,
    pub prefix: Bytes,
}

impl<IO> Prefixed<IO> {
    /// Puts `bytes` (read before the current prefix) back in front. Copied, so that a large
    /// buffer they may point into (hyper's 8 KiB) is freed.
    pub fn unread(&mut self, bytes: Bytes) {
        if bytes.is_empty() {
            return;
        }
        let mut joined = BytesMut::with_capacity(bytes.len() + self.prefix.len());
        joined.extend_from_slice(&bytes);
        joined.extend_from_slice(&self.prefix);
        self.prefix = joined.freeze();
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Prefixed<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.prefix.has_remaining() {
            let n = this.prefix.len().min(buf.remaining());
            buf.put_slice(&this.prefix[..n]);
            this.prefix.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.io).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Prefixed<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, data)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// A TCP socket counting the reads and writes that moved bytes into its [`Activity`].
pub struct Counted {
    tcp: TcpStream,
    activity: Arc<Activity>,
}

impl Counted {
    /// Counts a write that moved bytes; passes its result on.
    fn wrote(&self, result: Poll<io::Result<usize>>) -> Poll<io::Result<usize>> {
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        result
    }
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        let result = Pin::new(&mut this.tcp).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.activity.read();
        }
        result
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.tcp).poll_write(cx, data);
        self.wrote(result)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs);
        self.wrote(result)
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

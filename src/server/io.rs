//! The byte stream under every connection: a TCP socket, after any bytes read past a PROXY
//! header (which belong to what follows), counting its traffic so the connection's timeouts
//! cost no clock reads and no timer per request.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
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

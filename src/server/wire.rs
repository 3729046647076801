//! The stream hyper speaks HTTP/1.1 on: a [`Prefixed`] stream (bytes read ahead go first)
//! that writes our answer wherever hyper writes one of its automatic error answers (see
//! [`crate::http::Automatic`]): every response the daemon sends carries CORS.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::io::Prefixed;
use crate::http::Automatic;

pub(super) struct Wire<IO> {
    pub inner: Prefixed<IO>,
    automatic: Arc<Automatic>,
    /// Our answer being written in place of hyper's, and how many bytes hyper asked to
    /// write (reported written once ours is).
    replacing: Option<(Bytes, usize)>,
}

impl<IO> Wire<IO> {
    pub fn new(inner: Prefixed<IO>, automatic: Arc<Automatic>) -> Wire<IO> {
        Wire {
            inner,
            automatic,
            replacing: None,
        }
    }
}

impl<IO: AsyncWrite + Unpin> Wire<IO> {
    /// Starts replacing if `data` is one of hyper's automatic answers; then writes what is
    /// left of ours. `None`: not replacing, write `data` as it is.
    fn poll_replace(
        &mut self,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Option<Poll<io::Result<usize>>> {
        if self.replacing.is_none() {
            let ours = self
                .automatic
                .replacement(data, || crate::civil::http_date(crate::civil::now_secs()))?;
            self.replacing = Some((ours, data.len()));
        }
        let (ours, theirs) = self.replacing.as_mut()?;
        while ours.has_remaining() {
            match Pin::new(&mut self.inner).poll_write(cx, ours) {
                Poll::Ready(Ok(0)) => {
                    return Some(Poll::Ready(Err(io::ErrorKind::WriteZero.into())));
                }
                Poll::Ready(Ok(n)) => ours.advance(n),
                other => return Some(other),
            }
        }
        let theirs = *theirs;
        self.replacing = None;
        Some(Poll::Ready(Ok(theirs)))
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Wire<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Wire<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        match this.poll_replace(cx, data) {
            Some(replaced) => replaced,
            None => Pin::new(&mut this.inner).poll_write(cx, data),
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let first = bufs
            .iter()
            .find(|b| !b.is_empty())
            .map_or(&[][..], |b| &**b);
        match this.poll_replace(cx, first) {
            Some(replaced) => replaced,
            None => Pin::new(&mut this.inner).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

//! The TCP socket under a connection: it counts the reads and writes that moved bytes into
//! the connection's [`Activity`], and holds back what a TLS handshake writes until it can go
//! out with what follows.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::io::Activity;

/// The most a socket holds back: a handshake's flight (a certificate chain of a few KiB) and
/// one response fit; past that, writes go straight out, so a protocol layer that wrote much
/// without flushing could not grow a connection's memory.
const MAX_HELD: usize = 16 * 1024;

/// A TCP socket counting into an [`Activity`] and holding back handshake writes.
///
/// Why hold: on loopback and on real networks alike, every write is a TCP segment the kernel
/// builds, delivers and acknowledges, and that work dominates a short connection's cost (perf:
/// `writev` was 16-20% of server CPU under handshake loads). Without holding, a TLS 1.3 server
/// sends its session ticket in a write of its own right after the handshake, and then the
/// first response (or HTTP/2's SETTINGS) in another. Held, they leave in one.
///
/// What releases held bytes, so that no peer waits on them: during the handshake, a read that
/// would block (the server's flight goes out as it starts waiting for the client's); after a
/// TLS 1.3 handshake, which leaves only session tickets held (no client waits for those), the
/// next flush; after any other, the flush `conn` does at once. Then writes go straight out. A
/// shutdown sends what is held too, and dropping the socket makes one non-blocking attempt,
/// so that a failed handshake's alert still reaches the client.
pub struct Socket {
    tcp: TcpStream,
    activity: Arc<Activity>,
    hold: Hold,
    /// Written but not yet sent, from `sent` on.
    held: Vec<u8>,
    sent: usize,
}

/// When [`Socket`] holds writes back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hold {
    /// Never: writes go straight to the socket (plain HTTP, and TLS once released).
    Off,
    /// During the TLS handshake: until a read would block.
    Handshake,
    /// After a TLS 1.3 handshake: until the first flush (the first response, or HTTP/2's
    /// SETTINGS).
    Tickets,
}

impl Socket {
    pub fn new(tcp: TcpStream, activity: Arc<Activity>, hold: Hold) -> Socket {
        Socket {
            tcp,
            activity,
            hold,
            held: Vec::new(),
            sent: 0,
        }
    }

    pub fn set_hold(&mut self, hold: Hold) {
        self.hold = hold;
    }

    /// Sends what is held; `Ready(Ok)` once nothing is left.
    fn poll_send_held(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.sent < self.held.len() {
            match Pin::new(&mut self.tcp).poll_write(cx, &self.held[self.sent..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => self.sent += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        // Held bytes are a handshake's worth, once per connection: free them rather than keep
        // the capacity for the connection's whole life.
        self.held = Vec::new();
        self.sent = 0;
        Poll::Ready(Ok(()))
    }

    fn keep(&mut self, bufs: &[io::IoSlice<'_>]) -> usize {
        let len = bufs.iter().map(|b| b.len()).sum();
        self.held.reserve(len);
        for buf in bufs {
            self.held.extend_from_slice(buf);
        }
        if len > 0 {
            self.activity.wrote();
        }
        len
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        if self.sent < self.held.len() {
            let _ = self.tcp.try_write(&self.held[self.sent..]);
        }
    }
}

impl AsyncRead for Socket {
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
        if result.is_pending() && this.hold == Hold::Handshake {
            // About to wait for the peer, who may be waiting for what we hold.
            if let Poll::Ready(Err(e)) = this.poll_send_held(cx) {
                return Poll::Ready(Err(e));
            }
        }
        result
    }
}

impl AsyncWrite for Socket {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[io::IoSlice::new(data)])
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.hold != Hold::Off && this.held.len() < MAX_HELD {
            return Poll::Ready(Ok(this.keep(bufs)));
        }
        ready!(this.poll_send_held(cx))?;
        let result = Pin::new(&mut this.tcp).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.wrote();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        match this.hold {
            Hold::Handshake => return Poll::Ready(Ok(())),
            Hold::Tickets => this.hold = Hold::Off,
            Hold::Off => {}
        }
        ready!(this.poll_send_held(cx))?;
        Pin::new(&mut this.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        this.hold = Hold::Off;
        ready!(this.poll_send_held(cx))?;
        Pin::new(&mut this.tcp).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::future::poll_fn;
    use std::time::Duration;

    use std::io::Read;
    use std::net::TcpStream as StdStream;

    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    use super::*;

    async fn within<F: Future>(f: F) -> F::Output {
        tokio::time::timeout(Duration::from_secs(10), f)
            .await
            .expect("timed out")
    }

    /// A socket on our side of a loopback connection, and the peer's end (a plain socket,
    /// so that every read asks the kernel).
    async fn pair(hold: Hold) -> (Socket, StdStream) {
        let listener = within(TcpListener::bind("127.0.0.1:0")).await.unwrap();
        let peer = within(TcpStream::connect(listener.local_addr().unwrap()))
            .await
            .unwrap();
        let (ours, _) = within(listener.accept()).await.unwrap();
        let peer = peer.into_std().unwrap();
        peer.set_nonblocking(false).unwrap();
        peer.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        (Socket::new(ours, Activity::new(), hold), peer)
    }

    /// What the peer has received so far. Loopback delivers within the sending call, so
    /// anything sent is there at once.
    fn received(peer: &mut StdStream) -> Vec<u8> {
        peer.set_nonblocking(true).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 64 * 1024];
        loop {
            match peer.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("{e}"),
            }
        }
        peer.set_nonblocking(false).unwrap();
        got
    }

    /// Polls one read; true if it would wait.
    async fn read_would_wait(socket: &mut Socket) -> bool {
        let mut buf = [0u8; 16];
        poll_fn(|cx| {
            let mut buf = ReadBuf::new(&mut buf);
            Poll::Ready(Pin::new(&mut *socket).poll_read(cx, &mut buf).is_pending())
        })
        .await
    }

    #[tokio::test]
    async fn handshake_writes_go_out_when_a_read_would_wait() {
        let (mut socket, mut peer) = pair(Hold::Handshake).await;
        within(socket.write_all(b"server ")).await.unwrap();
        within(socket.write_all(b"flight")).await.unwrap();
        within(socket.flush()).await.unwrap();
        assert_eq!(received(&mut peer), b"");
        assert!(read_would_wait(&mut socket).await);
        assert_eq!(received(&mut peer), b"server flight");
    }

    #[tokio::test]
    async fn tickets_wait_for_the_first_flush_then_writes_go_straight_out() {
        let (mut socket, mut peer) = pair(Hold::Tickets).await;
        within(socket.write_all(b"ticket ")).await.unwrap();
        assert!(read_would_wait(&mut socket).await);
        within(socket.write_all(b"response")).await.unwrap();
        assert_eq!(received(&mut peer), b"");
        within(socket.flush()).await.unwrap();
        assert_eq!(received(&mut peer), b"ticket response");
        within(socket.write_all(b"next")).await.unwrap();
        assert_eq!(received(&mut peer), b"next");
    }

    #[tokio::test]
    async fn shutdown_and_drop_send_what_is_held() {
        let (mut socket, mut peer) = pair(Hold::Tickets).await;
        within(socket.write_all(b"close_notify")).await.unwrap();
        within(socket.shutdown()).await.unwrap();
        let mut got = Vec::new();
        peer.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"close_notify");

        let (mut socket, mut peer) = pair(Hold::Handshake).await;
        within(socket.write_all(b"alert")).await.unwrap();
        drop(socket);
        let mut got = Vec::new();
        peer.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"alert");
    }

    #[tokio::test]
    async fn no_more_than_max_held_is_held() {
        let (mut socket, mut peer) = pair(Hold::Tickets).await;
        let big = vec![7u8; MAX_HELD];
        within(socket.write_all(&big)).await.unwrap();
        within(socket.write_all(b"x")).await.unwrap();
        let got = received(&mut peer);
        assert_eq!(got.len(), MAX_HELD + 1);
        assert_eq!(got.last(), Some(&b'x'));
    }
}

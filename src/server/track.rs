//! What a connection's requests are doing, counted by the service (a request starts when it
//! is handed to us) and, on HTTP/2, by its response body (the request is finished when hyper
//! has taken the whole body and drops it). The supervisor compares samples of these counters on its
//! tick; nothing here reads a clock.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};

/// A connection's request counters. HTTP/2 streams finish on other tasks, hence atomics.
#[derive(Debug, Default)]
pub(super) struct Requests {
    started: AtomicU64,
    finished: AtomicU64,
    /// HTTP/1.1 past `limits.max_connection_age`: the next response says `Connection:
    /// close`, and hyper closes the connection after it.
    close_next: AtomicBool,
    /// HTTP/2: requests finish when their response body is dropped, on the stream's task.
    /// HTTP/1.1 answers one request at a time and reads the next only once this one's
    /// response is in its write buffer, so a request there is finished once answered.
    streams: bool,
}

/// A sample of [`Requests`], compared tick to tick.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Sample {
    pub started: u64,
    pub finished: u64,
}

impl Sample {
    /// Requests handed to us whose response hyper has not finished taking.
    pub fn in_flight(&self) -> bool {
        self.started != self.finished
    }
}

impl Requests {
    /// `streams`: HTTP/2 (see [`Requests::streams`]).
    pub fn new(streams: bool) -> Requests {
        Requests {
            streams,
            ..Requests::default()
        }
    }

    pub fn sample(&self) -> Sample {
        // `finished` first: read the other way round, a request finishing in between would
        // look like one more finished than started.
        let finished = self.finished.load(Ordering::Relaxed);
        Sample {
            started: self.started.load(Ordering::Relaxed),
            finished,
        }
    }

    pub fn close_next(&self) {
        self.close_next.store(true, Ordering::Relaxed);
    }

    pub fn closing(&self) -> bool {
        self.close_next.load(Ordering::Relaxed)
    }

    /// A request was handed to us; its response's body is `body`. Only the connection's own
    /// task hands requests over (hyper calls the service there, for HTTP/2 streams too), so
    /// `started` has one writer: a plain load and store, no read-modify-write; so has
    /// `finished` on HTTP/1.1, where the request is finished here too.
    pub fn start(self: &Arc<Self>, body: crate::http::Body) -> Tracked {
        let n = self.started.load(Ordering::Relaxed).wrapping_add(1);
        self.started.store(n, Ordering::Relaxed);
        if !self.streams {
            self.finished.store(n, Ordering::Relaxed);
            return Tracked {
                body,
                requests: None,
            };
        }
        Tracked {
            body,
            requests: Some(self.clone()),
        }
    }
}

/// A response body that finishes its request when dropped, however the response ends (sent,
/// reset by the client, connection closed).
#[derive(Debug)]
pub(crate) struct Tracked {
    body: crate::http::Body,
    /// HTTP/2's requests, told when this body is dropped.
    requests: Option<Arc<Requests>>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        if let Some(r) = &self.requests {
            r.finished.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Body for Tracked {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

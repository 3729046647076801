//! What connections read from the current config generation: the router, and how to speak
//! (HTTP/1.1 and HTTP/2 settings, timeouts, logging). Built whole from a config and swapped
//! in with one store; a request loads it once, without a lock.

use std::sync::Arc;

use arc_swap::ArcSwap;
use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::config::net::IpNet;
use crate::config::{Config, Limits};
use crate::http::Router;

/// The current [`Generation`], shared by every connection and swapped by reloads.
pub type Current = Arc<ArcSwap<Generation>>;

/// HTTP/2 streams open at once per connection: bounds the work one connection can queue.
const MAX_STREAMS: u32 = 100;
/// HTTP/2 streams a client may open and reset before we answer them: a rapid-reset client
/// (CVE-2023-44487) gets GOAWAY after this many instead of making us do the work.
const MAX_PENDING_RESETS: usize = 20;
/// HTTP/2 flow-control window per stream: documents take no body, so a client gets to send
/// little before it is ignored.
const STREAM_WINDOW: u32 = 16 * 1024;
/// The HTTP/2 header list h2 itself accepts, as a multiple of `limits.max_header_bytes`. The
/// router answers lists above the limit with a 431 that carries CORS; h2's own 431 (which
/// cannot) is left for lists above this, which also bounds what one stream makes h2 decode.
const H2_HEADER_LIST_FACTOR: usize = 2;

#[derive(Debug, Clone)]
pub struct Generation {
    pub router: Router,
    pub limits: Limits,
    pub access_log: bool,
    /// The metrics listener is configured: count requests.
    pub count_requests: bool,
    /// `listen.trusted_proxies`.
    pub trusted_proxies: Vec<IpNet>,
    pub(super) h1: http1::Builder,
    pub(super) h2: http2::Builder<TokioExecutor>,
}

impl Generation {
    pub fn new(router: Router, config: &Config) -> Generation {
        let limits = config.limits.clone();
        let mut h1 = http1::Builder::new();
        // Request-head deadlines are the supervisor's (see `supervise`): hyper's header timer
        // would arm and drop a timer for every request.
        h1.timer(TokioTimer::new())
            .header_read_timeout(None)
            .max_header_size(limits.max_header_bytes)
            .max_buf_size(limits.max_header_bytes.max(8192));
        let mut h2 = http2::Builder::new(TokioExecutor::new());
        let h2_headers = limits
            .max_header_bytes
            .saturating_mul(H2_HEADER_LIST_FACTOR);
        h2.timer(TokioTimer::new())
            .max_concurrent_streams(MAX_STREAMS)
            .max_pending_accept_reset_streams(MAX_PENDING_RESETS)
            .max_header_list_size(u32::try_from(h2_headers).unwrap_or(u32::MAX))
            .initial_stream_window_size(STREAM_WINDOW);
        Generation {
            router,
            limits,
            access_log: config.access_log,
            count_requests: config.listen.metrics.is_some(),
            trusted_proxies: config.listen.trusted_proxies.clone(),
            h1,
            h2,
        }
    }

    /// A handle serving this generation, for [`super::Shared::new`].
    pub fn current(self) -> Current {
        Arc::new(ArcSwap::from_pointee(self))
    }

    /// This generation, shutting down: the health endpoint says 503.
    pub fn draining(&self) -> Generation {
        Generation {
            router: self.router.draining(),
            ..self.clone()
        }
    }
}

//! The metrics listener: plain HTTP/1.1 on a private address, `GET /metrics` answered with
//! [`Metrics::render`]. A bare listener of its own, apart from the documents' limits and
//! supervisor: a scraper makes one small request now and then.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};

use super::listen::Listener;
use super::shared::{ACCEPT_BACKOFF, Shutdown};
use crate::metrics::Metrics;

/// A scraper sends a small request promptly; anything slower is not one.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// A scrape that takes longer is stuck (or is someone holding the socket): dropped.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves `GET /metrics` on `listener` until `shutdown`.
pub async fn serve(listener: Listener, metrics: Arc<Metrics>, mut shutdown: Shutdown) {
    let mut h1 = http1::Builder::new();
    h1.timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .keep_alive(false);
    loop {
        let accepted = tokio::select! {
            accepted = listener.tcp.accept() => accepted,
            () = shutdown.wait() => return,
        };
        let Ok((stream, _)) = accepted else {
            tokio::time::sleep(ACCEPT_BACKOFF).await;
            continue;
        };
        let metrics = metrics.clone();
        let service = service_fn(move |req: Request<Incoming>| {
            std::future::ready(Ok::<_, Infallible>(answer(&metrics, &req)))
        });
        let conn = h1.serve_connection(TokioIo::new(stream), service);
        tokio::spawn(tokio::time::timeout(SCRAPE_TIMEOUT, conn));
    }
}

fn answer<B>(metrics: &Metrics, req: &Request<B>) -> Response<Full<Bytes>> {
    if req.uri().path() != "/metrics" {
        let mut r = Response::new(Full::new(Bytes::from_static(b"see /metrics\n")));
        *r.status_mut() = StatusCode::NOT_FOUND;
        return r;
    }
    let mut r = Response::new(Full::new(Bytes::from(metrics.render())));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    r
}

//! The per-request handler hyper calls on every connection: one lock-free load of the current
//! [`Generation`], route, answer; then the access log line and the request counter, when
//! they are on. Nothing here waits: the log line goes to a bounded queue.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use http::header::{self, HeaderValue};
use hyper::body::Incoming;
use hyper::{Request, Response};

use super::Shared;
use super::generation::{Current, Generation};
use super::track::{Requests, Tracked};
use crate::http::{Body, Router, route};
use crate::log;
use crate::metrics::Metrics;

#[derive(Clone)]
pub(super) struct Service {
    current: Current,
    metrics: Arc<Metrics>,
    /// The client's address: the peer's, or the one a PROXY header gave.
    client: SocketAddr,
    requests: Arc<Requests>,
}

impl Service {
    pub fn new(shared: &Shared, client: SocketAddr, requests: Arc<Requests>) -> Service {
        Service {
            current: shared.current.clone(),
            metrics: shared.metrics.clone(),
            client,
            requests,
        }
    }
}

impl Service {
    pub fn requests(&self) -> Arc<Requests> {
        self.requests.clone()
    }
}

impl hyper::service::Service<Request<Incoming>> for Service {
    type Response = Response<Tracked>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Response<Tracked>, Infallible>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        let generation = self.current.load();
        let mut response = self.answer(&generation, &req);
        if self.requests.closing() {
            let close = HeaderValue::from_static("close");
            response.headers_mut().insert(header::CONNECTION, close);
        }
        std::future::ready(Ok(response.map(|body| self.requests.start(body))))
    }
}

impl Service {
    fn answer(&self, generation: &Generation, req: &Request<Incoming>) -> Response<Body> {
        // A clock read only when the log line will carry the duration.
        let started = generation.access_log.then(Instant::now);
        let router = &generation.router;
        let response = contained(router, req);
        if let Some(started) = started {
            access_log(req, &response, self.client, started);
        }
        if generation.count_requests {
            let domain = router.site(|| route::host(req)).map_or("", |s| &s.name);
            let document = router.label(req.uri().path());
            let status = response.status().as_u16();
            self.metrics.request(domain, document, status);
        }
        response
    }
}

/// [`route()`], except that a panic (a bug) costs one 500 rather than the connection.
fn contained<B>(router: &Router, req: &Request<B>) -> Response<Body> {
    std::panic::catch_unwind(AssertUnwindSafe(|| route(router, req)))
        .unwrap_or_else(|_| router.fixed.internal_error.response(false))
}

fn access_log<B>(
    req: &Request<B>,
    response: &Response<Body>,
    client: SocketAddr,
    started: Instant,
) {
    use hyper::body::Body as _;
    let bytes = response.body().size_hint().exact().unwrap_or(0);
    log::info(format_args!(
        "access {client} {} \"{} {}\" {} {bytes} {}us",
        route::host(req).unwrap_or("-"),
        req.method(),
        req.uri().path(),
        response.status().as_u16(),
        started.elapsed().as_micros()
    ));
}

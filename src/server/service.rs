//! The per-request handler hyper calls on every connection: read the current state, route,
//! answer; then the access log line and the request counter, when they are on.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use hyper::body::Incoming;
use hyper::{Request, Response};
use tokio::sync::watch;

use crate::config::Document;
use crate::http::{Body, Prepared, route};
use crate::log;
use crate::metrics::Metrics;
use crate::state::State;

/// The per-request handler: read the current state, route, answer; then the access log line
/// and the request counter, when they are on.
#[derive(Clone)]
pub(super) struct Service {
    pub(super) state: watch::Receiver<Arc<State>>,
    pub(super) metrics: Arc<Metrics>,
    /// The client's address: the peer's, or the one a PROXY header gave.
    pub(super) client: SocketAddr,
}

impl hyper::service::Service<Request<Incoming>> for Service {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Response<Body>, Infallible>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        let state = self.state.borrow();
        // A clock read only when the log line will carry the duration.
        let started = state.config.access_log.then(Instant::now);
        let response = answer(&state, &req);
        if let Some(started) = started {
            access_log(&req, &response, self.client, started);
        }
        if state.config.listen.metrics.is_some() {
            let domain = state.site(|| route::host(&req)).map_or("", |s| &s.name);
            let document = document(&state, req.uri().path());
            self.metrics
                .request(domain, document, response.status().as_u16());
        }
        std::future::ready(Ok(response))
    }
}

/// [`route()`], except that a panic (a bug) costs one 500 rather than the connection.
fn answer<B>(state: &State, req: &Request<B>) -> Response<Body> {
    contain(|| route(state, req), &state.fixed.internal_error)
}

fn contain(f: impl FnOnce() -> Response<Body>, fallback: &Prepared) -> Response<Body> {
    std::panic::catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| fallback.response(false))
}

fn document(state: &State, path: &str) -> &'static str {
    if state.config.health.path.as_deref() == Some(path) {
        return "health";
    }
    Document::from_path(path).map_or("other", Document::name)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_router_costs_one_500_not_the_process() {
        let loaded = crate::config::parse(std::path::Path::new("t.toml"), "[listen]\nhttp=[\"127.0.0.1:0\"]\n[[domain]]\nname=\"a.test\"\nserver=\"m.a.test:443\"\n").unwrap();
        let state = State::without_certs(loaded.config);
        let response = contain(|| panic!("a bug in routing"), &state.fixed.internal_error);
        assert_eq!(response.status(), 500);
        assert_eq!(response.headers()["access-control-allow-origin"], "*");
        let req = Request::get("/.well-known/matrix/server").body(()).unwrap();
        assert_eq!(answer(&state, &req).status(), 200);
    }
}

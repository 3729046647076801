//! The per-request handler hyper calls on every connection: the current [`Generation`]
//! (without a lock: the connection's cached one, after one atomic load to see that no reload
//! replaced it), route, answer; then the access log line and the request counter, when they
//! are on. Nothing here waits: the log line goes to a bounded queue.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use http::header::{self, HeaderValue};
use hyper::body::Incoming;
use hyper::{Request, Response};

use super::generation::{Current, Generation};
use super::listen::Proto;
use super::shared::Shared;
use super::track::{Requests, Tracked};
use crate::challenges::Pending;
use crate::http::{Body, Router, route, route_plain};
use crate::log;
use crate::metrics::Metrics;
use arc_swap::cache::Cache;
use std::cell::RefCell;

#[derive(Clone)]
pub(super) struct Service {
    /// Called on the connection's own task only (hyper calls services there, for HTTP/2
    /// streams too), so the cache needs no lock.
    current: RefCell<Cache<Current, Arc<Generation>>>,
    shared_current: Current,
    metrics: Arc<Metrics>,
    /// The client's address: the peer's, or the one a PROXY header gave.
    client: SocketAddr,
    requests: Arc<Requests>,
    /// Set on the port-80 listeners: what they answer is [`route_plain`]'s.
    challenges: Option<Pending>,
    /// The peer is a trusted reverse proxy: the access log names the client it forwards for.
    behind_proxy: bool,
}

impl Service {
    pub fn new(
        shared: &Shared,
        client: SocketAddr,
        requests: Arc<Requests>,
        proto: Proto,
    ) -> Service {
        let challenges = (proto == Proto::Redirect).then(|| shared.challenges.clone());
        Service {
            challenges,
            behind_proxy: shared.is_trusted(client, proto),
            current: RefCell::new(Cache::new(shared.current.clone())),
            shared_current: shared.current.clone(),
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
        // The cache is only ever borrowed here, and `call` never re-enters; a failed borrow
        // would still be answered, from the shared handle.
        let mut response = match self.current.try_borrow_mut() {
            Ok(mut cache) => self.answer(cache.load(), &req),
            Err(_) => self.answer(&self.shared_current.load(), &req),
        };
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
        let response = match &self.challenges {
            Some(pending) => contained(router, req, |r, q| route_plain(r, &pending.load(), q)),
            None => contained(router, req, route),
        };
        if let Some(started) = started {
            let forwarded = self
                .behind_proxy
                .then(|| super::forwarded::client(req, &generation.trusted_proxies))
                .flatten();
            let client = match forwarded {
                Some(ip) => Client::Forwarded(ip),
                None => Client::Peer(self.client),
            };
            access_log(req, &response, client, started);
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
fn contained<B>(
    router: &Router,
    req: &Request<B>,
    route: impl FnOnce(&Router, &Request<B>) -> Response<Body>,
) -> Response<Body> {
    std::panic::catch_unwind(AssertUnwindSafe(|| route(router, req)))
        .unwrap_or_else(|_| router.fixed.internal_error.response(false))
}

/// Who the access log names: the peer (or the PROXY header's address), or the client a
/// trusted proxy forwarded for.
enum Client {
    Peer(SocketAddr),
    Forwarded(std::net::IpAddr),
}

impl std::fmt::Display for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Client::Peer(a) => a.fmt(f),
            Client::Forwarded(ip) => ip.fmt(f),
        }
    }
}

fn access_log<B>(req: &Request<B>, response: &Response<Body>, client: Client, started: Instant) {
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
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use crate::config::ListenOptions;
    use crate::server::{Generation, Listener, Proto, Shared, Shutdown, serve};

    /// A bug in routing (the router's test-only panic) costs that request a 500 with CORS,
    /// through the real entry point, and the connection goes on serving.
    #[tokio::test]
    async fn a_panicking_router_costs_one_500_not_the_connection() {
        let text = "[listen]\nhttp = [\"127.0.0.1:0\"]\n[[domain]]\nname = \"a.test\"\nserver = \"m.a.test:443\"\n";
        let config = crate::config::parse(std::path::Path::new("t.toml"), text)
            .unwrap()
            .config;
        let generation = Generation::new(crate::http::Router::new(&config), &config);
        let certs = crate::tls::CertStore::default().shared();
        let shared = Shared::new(generation.current(), certs, Default::default()).unwrap();
        let listener = Listener::bind(
            "127.0.0.1:0".parse().unwrap(),
            Proto::Http,
            ListenOptions::default(),
        )
        .unwrap();
        let addr = listener.tcp.local_addr().unwrap();
        let (stop, shutdown) = Shutdown::channel();
        let served = tokio::spawn(serve(listener, shared, shutdown));
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let requests = "GET /test/panic HTTP/1.1\r\nHost: a.test\r\n\r\n\
            GET /.well-known/matrix/server HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n";
        s.write_all(requests.as_bytes()).await.unwrap();
        let mut answers = String::new();
        let read = tokio::time::timeout(Duration::from_secs(10), s.read_to_string(&mut answers));
        let _ = read.await.unwrap();
        assert!(
            answers.starts_with("HTTP/1.1 500 Internal Server Error\r\n"),
            "{answers}"
        );
        assert!(
            answers.contains("\r\naccess-control-allow-origin: *\r\n"),
            "{answers}"
        );
        assert!(
            answers.ends_with(r#"{"m.server":"m.a.test:443"}"#),
            "{answers}"
        );
        stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(10), served)
            .await
            .unwrap()
            .unwrap();
    }
}

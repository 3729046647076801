//! Prometheus metrics, hand-written: a handful of counters in atomics and a text exposition
//! of a few dozen lines. The `prometheus` crate would bring protobuf and a registry for what
//! fits on one screen here, and no metrics crate knows our certificates.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::watch;

use crate::server::{Listener, Shutdown};
use crate::state::State;

/// Domain, document, status.
type RequestLabels = (Box<str>, &'static str, u16);

#[derive(Debug, Default)]
pub struct Metrics {
    open_connections: AtomicI64,
    handshake_failures: AtomicU64,
    reloads_ok: AtomicU64,
    reloads_failed: AtomicU64,
    generation: AtomicU64,
    /// By (domain, document, status). Only counted when the metrics listener is configured;
    /// a short uncontended lock per request.
    requests: Mutex<BTreeMap<RequestLabels, u64>>,
}

/// Decrements the open-connection gauge when the connection ends, however it ends.
pub struct OpenConnection<'a>(&'a Metrics);

impl Drop for OpenConnection<'_> {
    fn drop(&mut self) {
        self.0.open_connections.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    pub fn connection_opened(&self) -> OpenConnection<'_> {
        self.open_connections.fetch_add(1, Ordering::Relaxed);
        OpenConnection(self)
    }

    pub fn handshake_failed(&self) {
        self.handshake_failures.fetch_add(1, Ordering::Relaxed);
    }

    pub fn reloaded(&self, ok: bool) {
        let counter = if ok {
            &self.reloads_ok
        } else {
            &self.reloads_failed
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A new state is serving (config reload or renewed certificates).
    pub fn new_generation(&self) {
        self.generation.fetch_add(1, Ordering::Relaxed);
    }

    pub fn request(&self, domain: &str, document: &'static str, status: u16) {
        if let Ok(mut map) = self.requests.lock() {
            *map.entry((domain.into(), document, status)).or_default() += 1;
        }
    }

    /// The text exposition format (version 0.0.4).
    pub fn render(&self, state: &State) -> String {
        let mut out = String::with_capacity(2048);
        out.push_str("# HELP wellknownd_requests_total Requests answered, by domain, document and status.\n# TYPE wellknownd_requests_total counter\n");
        if let Ok(map) = self.requests.lock() {
            for ((domain, document, status), n) in map.iter() {
                let _ = writeln!(
                    out,
                    "wellknownd_requests_total{{domain=\"{}\",document=\"{document}\",status=\"{status}\"}} {n}",
                    escape(domain)
                );
            }
        }
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let gauges: [(&str, &str, &str, String); 5] = [
            (
                "open_connections",
                "gauge",
                "Connections open now.",
                self.open_connections.load(Ordering::Relaxed).to_string(),
            ),
            (
                "tls_handshake_failures_total",
                "counter",
                "TLS handshakes that failed or timed out.",
                load(&self.handshake_failures).to_string(),
            ),
            (
                "reloads_total{result=\"ok\"}",
                "counter",
                "Reloads (SIGHUP), by result.",
                load(&self.reloads_ok).to_string(),
            ),
            (
                "reloads_total{result=\"failed\"}",
                "",
                "",
                load(&self.reloads_failed).to_string(),
            ),
            (
                "config_generation",
                "gauge",
                "Configurations served since start (reloads and renewed certificates).",
                load(&self.generation).to_string(),
            ),
        ];
        for (name, kind, help, value) in gauges {
            if !kind.is_empty() {
                let base = name.split('{').next().unwrap_or(name);
                let _ = writeln!(
                    out,
                    "# HELP wellknownd_{base} {help}\n# TYPE wellknownd_{base} {kind}"
                );
            }
            let _ = writeln!(out, "wellknownd_{name} {value}");
        }
        let _ = writeln!(
            out,
            "# HELP wellknownd_certificate_expiry_seconds When each certificate expires (notAfter), seconds since the epoch.\n# TYPE wellknownd_certificate_expiry_seconds gauge"
        );
        for p in &state.pairs {
            if let Some(t) = p.not_after {
                let _ = writeln!(
                    out,
                    "wellknownd_certificate_expiry_seconds{{key=\"{}\",path=\"{}\"}} {t}",
                    escape(&p.paths.key),
                    escape(&p.paths.certificate.display().to_string())
                );
            }
        }
        out
    }
}

/// Label values escape `\`, `"` and newlines.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Serves `GET /metrics` on `listener` (plain HTTP/1.1, meant for a private address) until
/// `shutdown`.
pub async fn serve(
    listener: Listener,
    metrics: Arc<Metrics>,
    state: watch::Receiver<Arc<State>>,
    mut shutdown: Shutdown,
) {
    let mut h1 = http1::Builder::new();
    // A scraper sends a small request promptly; anything slower is not one.
    h1.timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(10))
        .keep_alive(false);
    loop {
        let accepted = tokio::select! {
            accepted = listener.tcp.accept() => accepted,
            () = shutdown.wait() => return,
        };
        let Ok((stream, _)) = accepted else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let (metrics, state) = (metrics.clone(), state.clone());
        let service = service_fn(move |req: Request<Incoming>| {
            let response = if req.uri().path() == "/metrics" {
                let mut r = Response::new(Full::new(Bytes::from(metrics.render(&state.borrow()))));
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; version=0.0.4"),
                );
                r
            } else {
                let mut r = Response::new(Full::new(Bytes::from_static(b"see /metrics\n")));
                *r.status_mut() = StatusCode::NOT_FOUND;
                r
            };
            std::future::ready(Ok::<_, Infallible>(response))
        });
        let conn = h1.serve_connection(TokioIo::new(stream), service);
        tokio::spawn(tokio::time::timeout(Duration::from_secs(30), conn));
    }
}

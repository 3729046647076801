//! Prometheus metrics, hand-written: a handful of counters in atomics and a text exposition
//! of a few dozen lines. The `prometheus` crate would bring protobuf and a registry for what
//! fits on one screen here, and no metrics crate knows our certificates. A leaf: what it
//! counts is told to it; `server` serves the exposition.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;

/// Document and status, under a domain.
type Labels = (&'static str, u16);
/// A domain's counters, by [`Labels`]: a handful each, searched in order.
type DomainCounters = Vec<(Labels, Arc<AtomicU64>)>;

/// Request counters by domain, document and status, read without a lock: a request finds its
/// counter in the current map (no allocation) and increments it. A label set seen for the
/// first time (a few dozen in a daemon's life: domains x documents x statuses) copies the map
/// under `adding`.
#[derive(Debug, Default)]
struct RequestCounters {
    map: ArcSwap<HashMap<Box<str>, DomainCounters>>,
    adding: Mutex<()>,
}

impl RequestCounters {
    fn count(&self, domain: &str, labels: Labels) {
        let find = |counters: &[(Labels, Arc<AtomicU64>)]| {
            counters
                .iter()
                .find(|(l, _)| *l == labels)
                .map(|(_, n)| n.clone())
        };
        if let Some(n) = self.map.load().get(domain).and_then(|c| find(c)) {
            n.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let _adding = self.adding.lock().unwrap_or_else(PoisonError::into_inner);
        let mut map = HashMap::clone(&self.map.load());
        let counters = map.entry(domain.into()).or_default();
        let n = find(counters).unwrap_or_else(|| {
            let n = Arc::<AtomicU64>::default();
            counters.push((labels, n.clone()));
            n
        });
        n.fetch_add(1, Ordering::Relaxed);
        self.map.store(Arc::new(map));
    }

    fn sorted(&self) -> Vec<(Box<str>, Labels, u64)> {
        let map = self.map.load();
        let mut all: Vec<_> = map
            .iter()
            .flat_map(|(d, c)| {
                c.iter()
                    .map(|(l, n)| (d.clone(), *l, n.load(Ordering::Relaxed)))
            })
            .collect();
        all.sort();
        all
    }
}

/// A certificate's expiry, for the expiry gauge.
#[derive(Debug, Clone)]
pub struct CertificateExpiry {
    /// The config key that names it, e.g. `tls` or `domain[1].tls`.
    pub key: String,
    pub path: String,
    /// `notAfter`, seconds since the epoch.
    pub not_after: i64,
}

#[derive(Debug, Default)]
pub struct Metrics {
    open_connections: AtomicI64,
    parked_connections: AtomicI64,
    refused_per_ip: AtomicU64,
    handshake_failures: AtomicU64,
    reloads_ok: AtomicU64,
    reloads_failed: AtomicU64,
    generation: AtomicU64,
    requests: RequestCounters,
    certificates: Mutex<Vec<CertificateExpiry>>,
    /// ACME orders by domain: (domain, ok, failed), as the client's status file says.
    acme_orders: Mutex<Vec<(String, u64, u64)>>,
    /// Where each domain delegates, pre-rendered as `wellknownd_delegation_info` lines.
    delegations: Mutex<String>,
}

/// Decrements a gauge when what it counts ends, however it ends.
pub struct Gauged<'a>(&'a AtomicI64);

impl Drop for Gauged<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

fn raise(gauge: &AtomicI64) -> Gauged<'_> {
    gauge.fetch_add(1, Ordering::Relaxed);
    Gauged(gauge)
}

impl Metrics {
    pub fn connection_opened(&self) -> Gauged<'_> {
        raise(&self.open_connections)
    }

    /// An idle HTTP/1.1 connection parked (hyper's state freed) until its client writes.
    pub fn connection_parked(&self) -> Gauged<'_> {
        raise(&self.parked_connections)
    }

    /// A connection closed at once: its address already holds `limits.max_connections_per_ip`.
    pub fn refused_per_ip(&self) {
        self.refused_per_ip.fetch_add(1, Ordering::Relaxed);
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

    /// A new generation is serving (config reload or renewed certificates).
    pub fn new_generation(&self) {
        self.generation.fetch_add(1, Ordering::Relaxed);
    }

    /// The certificates now served, for the expiry gauge.
    pub fn set_certificates(&self, certificates: Vec<CertificateExpiry>) {
        *self
            .certificates
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = certificates;
    }

    /// ACME orders per domain, ended with a certificate and failed.
    pub fn set_acme_orders(&self, orders: Vec<(String, u64, u64)>) {
        *self
            .acme_orders
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = orders;
    }

    /// Each domain's served `m.server` and `m.homeserver.base_url` (empty when not served):
    /// the one change that silently moves federation and clients, as a series alerting can
    /// compare over time.
    pub fn set_delegations<'a>(&self, domains: impl Iterator<Item = [&'a str; 3]>) {
        let mut lines = String::new();
        for [domain, server, base_url] in domains {
            let _ = writeln!(
                lines,
                "wellknownd_delegation_info{{domain=\"{}\",server=\"{}\",base_url=\"{}\"}} 1",
                escape(domain),
                escape(server),
                escape(base_url)
            );
        }
        *self
            .delegations
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = lines;
    }

    pub fn request(&self, domain: &str, document: &'static str, status: u16) {
        self.requests.count(domain, (document, status));
    }

    /// The text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(2048);
        out.push_str("# HELP wellknownd_requests_total Requests answered, by domain, document and status.\n# TYPE wellknownd_requests_total counter\n");
        for (domain, (document, status), n) in self.requests.sorted() {
            let _ = writeln!(
                out,
                "wellknownd_requests_total{{domain=\"{}\",document=\"{document}\",status=\"{status}\"}} {n}",
                escape(&domain)
            );
        }
        let gauge = |a: &AtomicI64| a.load(Ordering::Relaxed).to_string();
        let counter = |a: &AtomicU64| a.load(Ordering::Relaxed).to_string();
        let series: [(&str, &str, &str, String); 9] = [
            (
                "open_connections",
                "gauge",
                "Connections open now.",
                gauge(&self.open_connections),
            ),
            (
                "parked_connections",
                "gauge",
                "Idle HTTP/1.1 connections parked (no buffers held) now.",
                gauge(&self.parked_connections),
            ),
            (
                "connections_refused_total{reason=\"per_ip\"}",
                "counter",
                "Connections closed at once, by reason (per_ip: limits.max_connections_per_ip).",
                counter(&self.refused_per_ip),
            ),
            (
                "tls_handshake_failures_total",
                "counter",
                "TLS handshakes that failed or timed out.",
                counter(&self.handshake_failures),
            ),
            (
                "reloads_total{result=\"ok\"}",
                "counter",
                "Reloads (SIGHUP or wellknownd reload), by result.",
                counter(&self.reloads_ok),
            ),
            (
                "reloads_total{result=\"failed\"}",
                "",
                "",
                counter(&self.reloads_failed),
            ),
            (
                "config_generation",
                "gauge",
                "Configurations served since start (reloads and renewed certificates).",
                counter(&self.generation),
            ),
            (
                "log_lines_dropped_total",
                "counter",
                "Log lines dropped because stderr could not keep up.",
                crate::log::dropped().to_string(),
            ),
            (
                "certificate_expiry_seconds",
                "gauge",
                "When each certificate expires (notAfter), seconds since the epoch.",
                String::new(),
            ),
        ];
        for (name, kind, help, value) in series {
            if !kind.is_empty() {
                let base = name.split('{').next().unwrap_or(name);
                let _ = writeln!(
                    out,
                    "# HELP wellknownd_{base} {help}\n# TYPE wellknownd_{base} {kind}"
                );
            }
            if !value.is_empty() {
                let _ = writeln!(out, "wellknownd_{name} {value}");
            }
        }
        let certificates = self
            .certificates
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for c in certificates.iter() {
            let _ = writeln!(
                out,
                "wellknownd_certificate_expiry_seconds{{key=\"{}\",path=\"{}\"}} {}",
                escape(&c.key),
                escape(&c.path),
                c.not_after
            );
        }
        drop(certificates);
        let orders = self
            .acme_orders
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if !orders.is_empty() {
            out.push_str("# HELP wellknownd_acme_orders_total ACME orders, by domain and result.\n# TYPE wellknownd_acme_orders_total counter\n");
        }
        for (domain, ok, failed) in orders.iter() {
            for (result, n) in [("ok", ok), ("failed", failed)] {
                let _ = writeln!(
                    out,
                    "wellknownd_acme_orders_total{{domain=\"{}\",result=\"{result}\"}} {n}",
                    escape(domain)
                );
            }
        }
        drop(orders);
        out.push_str("# HELP wellknownd_delegation_info Where each domain delegates: the m.server and m.homeserver.base_url it serves (empty: not served).\n# TYPE wellknownd_delegation_info gauge\n");
        out.push_str(
            &self
                .delegations
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        out
    }
}

/// Label values escape `\`, `"` and newlines.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

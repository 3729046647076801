//! Choosing a certificate by SNI. rustls' own `ResolvesServerCertUsingSni` fails clients that
//! send no SNI (load-balancer health checks, clients connecting by IP) and cannot be swapped
//! on reload; this one falls back to a default and reads the current state on each handshake.

use std::sync::Arc;

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio::sync::watch;

use crate::state::State;

/// The certificates of one config generation.
#[derive(Debug, Default, Clone)]
pub struct CertStore {
    /// Domains with a certificate of their own, by lowercase name.
    by_name: Vec<(Box<str>, Arc<CertifiedKey>)>,
    /// For every other SNI, and for none.
    default: Option<Arc<CertifiedKey>>,
}

impl CertStore {
    pub fn new(
        by_name: Vec<(Box<str>, Arc<CertifiedKey>)>,
        default: Option<Arc<CertifiedKey>>,
    ) -> Self {
        CertStore { by_name, default }
    }

    pub fn pick(&self, sni: Option<&str>) -> Option<Arc<CertifiedKey>> {
        let sni = sni.map(|s| s.strip_suffix('.').unwrap_or(s));
        sni.and_then(|s| self.by_name.iter().find(|(n, _)| n.eq_ignore_ascii_case(s)))
            .map(|(_, k)| k)
            .or(self.default.as_ref())
            .cloned()
    }
}

#[derive(Debug)]
pub struct Resolver {
    state: watch::Receiver<Arc<State>>,
}

impl Resolver {
    pub fn new(state: watch::Receiver<Arc<State>>) -> Self {
        Resolver { state }
    }
}

impl ResolvesServerCert for Resolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.state.borrow().certs.pick(hello.server_name())
    }
}

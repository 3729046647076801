//! Choosing a certificate by SNI. rustls' own `ResolvesServerCertUsingSni` fails clients that
//! send no SNI (load-balancer health checks, clients connecting by IP) and cannot be swapped
//! on reload; this one falls back to a default and reads the current
//! [`CertStore`](super::CertStore) on each handshake.

use std::sync::Arc;

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use super::store::Certs;

#[derive(Debug)]
pub struct Resolver {
    certs: Certs,
}

impl Resolver {
    pub fn new(certs: Certs) -> Self {
        Resolver { certs }
    }
}

impl ResolvesServerCert for Resolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.certs.load().pick(hello.server_name())
    }
}

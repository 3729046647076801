//! Choosing a certificate by SNI. rustls' own `ResolvesServerCertUsingSni` fails clients that
//! send no SNI (load-balancer health checks, clients connecting by IP) and cannot be swapped
//! on reload; this one falls back to a default and reads the current
//! [`CertStore`](super::CertStore) on each handshake. A hello offering only ALPN
//! `acme-tls/1` is a CA validating TLS-ALPN-01 and gets the pending challenge certificate.

use std::sync::Arc;

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use super::store::Certs;
use crate::challenges::{ACME_TLS_ALPN, Pending};

#[derive(Debug)]
pub struct Resolver {
    certs: Certs,
    challenges: Pending,
}

impl Resolver {
    pub fn new(certs: Certs, challenges: Pending) -> Resolver {
        Resolver { certs, challenges }
    }
}

impl ResolvesServerCert for Resolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        if let Some(mut alpn) = hello.alpn()
            && alpn.next() == Some(ACME_TLS_ALPN)
            && alpn.next().is_none()
        {
            // RFC 8737 §3: such a hello gets the challenge certificate or nothing.
            return self.challenges.load().alpn(hello.server_name()?);
        }
        self.certs
            .load()
            .pick(hello.server_name(), |key| accepts(&hello, key))
    }
}

/// Whether the client can verify `key`'s signatures: it offers a signature scheme of the key.
/// rustls has already dropped the schemes no cipher suite in common can use, so in TLS 1.2
/// an `ECDHE_RSA_*`-only client lists no ECDSA scheme here, even if it sent some.
fn accepts(hello: &ClientHello<'_>, key: &CertifiedKey) -> bool {
    key.key.choose_scheme(hello.signature_schemes()).is_some()
}

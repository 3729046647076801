//! The certificates being served, by SNI, and the handle every handshake reads them through.
//! A config reload (or, later, a renewal) builds a new [`CertStore`] and swaps it in whole;
//! handshakes under way keep the one they loaded.

use std::sync::Arc;

use arc_swap::ArcSwap;
use rustls::sign::CertifiedKey;

/// The current [`CertStore`], read without a lock on every handshake.
pub type Certs = Arc<ArcSwap<CertStore>>;

/// The certificates of one generation.
#[derive(Debug, Default, Clone)]
pub struct CertStore {
    /// Domains with a certificate of their own, by lowercase name. `None`: an ACME domain
    /// still waiting for its first certificate, whose handshakes fail rather than get
    /// another domain's certificate.
    by_name: Vec<(Box<str>, Option<Arc<CertifiedKey>>)>,
    /// For every other SNI, and for none.
    default: Option<Arc<CertifiedKey>>,
}

impl CertStore {
    pub fn new(
        by_name: Vec<(Box<str>, Option<Arc<CertifiedKey>>)>,
        default: Option<Arc<CertifiedKey>>,
    ) -> Self {
        CertStore { by_name, default }
    }

    /// A handle serving this store, for [`super::server_config`].
    pub fn shared(self) -> Certs {
        Arc::new(ArcSwap::from_pointee(self))
    }

    /// No certificate at all, nor one on its way from a CA.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty() && self.default.is_none()
    }

    pub fn pick(&self, sni: Option<&str>) -> Option<Arc<CertifiedKey>> {
        let sni = sni.map(|s| s.strip_suffix('.').unwrap_or(s));
        match sni.and_then(|s| self.by_name.iter().find(|(n, _)| n.eq_ignore_ascii_case(s))) {
            Some((_, own)) => own.clone(),
            None => self.default.clone(),
        }
    }
}

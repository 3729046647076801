//! The certificates being served, by SNI, and the handle every handshake reads them through.
//! A config reload (or, later, a renewal) builds a new [`CertStore`] and swaps it in whole;
//! handshakes under way keep the one they loaded.

use std::sync::Arc;

use arc_swap::ArcSwap;
use rustls::sign::CertifiedKey;

use super::tickets::TicketKeys;

/// The current [`CertStore`], read without a lock on every handshake.
pub type Certs = Arc<ArcSwap<CertStore>>;

/// One name's certificates: one, or an ECDSA and an RSA one, the cheapest first.
pub type Keys = Arc<[Arc<CertifiedKey>]>;

/// The certificates of one generation.
#[derive(Debug, Default, Clone)]
pub struct CertStore {
    /// Domains with a certificate of their own, by lowercase name. `None`: an ACME domain
    /// still waiting for its first certificate, whose handshakes fail rather than get
    /// another domain's certificate.
    by_name: Vec<(Box<str>, Option<Keys>)>,
    /// For every other SNI, and for none.
    default: Option<Keys>,
    /// `tls.ticket_key_file`'s keys, when configured ([`super::tickets`]).
    pub tickets: Option<Arc<TicketKeys>>,
}

impl CertStore {
    pub fn new(by_name: Vec<(Box<str>, Option<Keys>)>, default: Option<Keys>) -> Self {
        CertStore {
            by_name,
            default,
            tickets: None,
        }
    }

    /// A handle serving this store, for [`super::server_config`].
    pub fn shared(self) -> Certs {
        Arc::new(ArcSwap::from_pointee(self))
    }

    /// No certificate at all, nor one on its way from a CA.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty() && self.default.is_none()
    }

    /// The certificate for `sni`: the first of its keys the client `accepts`, else the first
    /// (and the handshake then fails as it would have anyway).
    pub fn pick(
        &self,
        sni: Option<&str>,
        accepts: impl Fn(&CertifiedKey) -> bool,
    ) -> Option<Arc<CertifiedKey>> {
        let sni = sni.map(|s| s.strip_suffix('.').unwrap_or(s));
        let keys =
            match sni.and_then(|s| self.by_name.iter().find(|(n, _)| n.eq_ignore_ascii_case(s))) {
                Some((_, own)) => own.as_ref(),
                None => self.default.as_ref(),
            }?;
        let first = keys.first()?;
        Some(keys.iter().find(|k| accepts(k)).unwrap_or(first).clone())
    }
}

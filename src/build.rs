//! Everything one config yields, built whole before any of it serves: the router with every
//! response prepared, and the certificate store. Start-up, reloads and `check` build one.

use crate::config::{self, Config, TlsPaths};
use crate::http::Router;
use crate::server::Generation;
use crate::tls::{self, CertStore, Pair};

/// Everything one config yields, built whole before any of it serves.
#[derive(Debug)]
pub struct Built {
    pub config: Config,
    pub router: Router,
    pub certs: CertStore,
    /// Every certificate pair loaded, for expiry reports and renewal checks.
    pub pairs: Vec<Pair>,
    /// ACME domains without a certificate yet, watched for its arrival.
    pub waiting: Vec<TlsPaths>,
    /// What the operator should hear about the certificates.
    pub warnings: Vec<String>,
    /// What clients will refuse of the certificates (expired, not covering their domain):
    /// logged as warnings by the daemon, a failure to `check`.
    pub refused: Vec<String>,
}

impl Built {
    /// Loads every certificate the config names and prepares every response.
    pub fn new(config: Config) -> Result<Built, config::Error> {
        let tls::Loaded {
            store,
            pairs,
            waiting,
            warnings,
            refused,
        } = tls::load(&config)?;
        Ok(Built {
            router: Router::new(&config),
            config,
            certs: store,
            pairs,
            waiting,
            warnings,
            refused,
        })
    }

    /// Prepares every response but loads no certificate (plain-HTTP serving, `check --no-tls`).
    pub fn without_certs(config: Config) -> Built {
        Built {
            router: Router::new(&config),
            config,
            certs: CertStore::default(),
            pairs: Vec::new(),
            waiting: Vec::new(),
            warnings: Vec::new(),
            refused: Vec::new(),
        }
    }

    pub fn generation(&self) -> Generation {
        Generation::new(self.router.clone(), &self.config)
    }
}

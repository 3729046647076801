//! One config generation, ready to serve: the validated config, every prepared response and
//! the certificates. Built whole before it is used; a reload builds a new one and swaps it in.

use crate::config::{self, Config};
use crate::http::{Fixed, Site};
use crate::server::Protocols;
use crate::tls::{CertStore, Pair};

#[derive(Debug, Clone)]
pub struct State {
    pub config: Config,
    /// One per `[[domain]]`, in config order.
    pub sites: Vec<Site>,
    /// The site for a `Host` that matches none: the only domain, or the `default = true` one.
    fallback: Option<usize>,
    pub fixed: Fixed,
    pub certs: CertStore,
    /// Every certificate pair loaded, for expiry reports.
    pub pairs: Vec<Pair>,
    /// HTTP/1.1 and HTTP/2 settings built from `config.limits`.
    pub protocols: Protocols,
    /// Shutting down: the health endpoint answers 503 (see [`State::draining`]).
    pub draining: bool,
}

/// A state and what the operator should hear about it.
#[derive(Debug)]
pub struct Built {
    pub state: State,
    pub warnings: Vec<String>,
}

impl State {
    /// Loads every certificate the config names and prepares every response.
    pub fn build(config: Config) -> Result<Built, config::Error> {
        let mut warnings = Vec::new();
        let default = config
            .tls
            .as_ref()
            .map(|p| Pair::load(&config.path, p))
            .transpose()?;
        let mut own = Vec::new();
        for (i, d) in config.domains.iter().enumerate() {
            if let Some(paths) = &d.tls {
                own.push((i, Pair::load(&config.path, paths)?));
            }
        }
        for (i, d) in config.domains.iter().enumerate() {
            let pair = own
                .iter()
                .find(|(j, _)| *j == i)
                .map(|(_, p)| p)
                .or(default.as_ref());
            if let Some(p) = pair.filter(|p| !p.covers(&d.name)) {
                warnings.push(format!(
                    "domain[{i}]: the certificate {} does not cover `{}`: clients will refuse TLS for it",
                    p.paths.certificate.display(),
                    d.name
                ));
            }
        }
        let now = crate::civil::now_secs();
        let pairs: Vec<Pair> = default
            .iter()
            .chain(own.iter().map(|(_, p)| p))
            .cloned()
            .collect();
        warnings.extend(pairs.iter().filter_map(|p| p.expiry_warning(now)));
        let fallback_key = default
            .as_ref()
            .or_else(|| {
                own.iter()
                    .find(|(i, _)| config.domains[*i].default)
                    .or(own.first())
                    .map(|(_, p)| p)
            })
            .map(|p| p.key.clone());
        let by_name = own
            .iter()
            .map(|(i, p)| (config.domains[*i].name.as_str().into(), p.key.clone()))
            .collect();
        let mut state = State::without_certs(config);
        state.certs = CertStore::new(by_name, fallback_key);
        state.pairs = pairs;
        Ok(Built { state, warnings })
    }

    /// Prepares every response but loads no certificate (plain-HTTP serving, `check --no-tls`).
    pub fn without_certs(config: Config) -> State {
        let sites = config.domains.iter().map(Site::build).collect();
        let fallback = match config.domains.len() {
            1 => Some(0),
            _ => config.domains.iter().position(|d| d.default),
        };
        State {
            protocols: Protocols::new(&config.limits),
            config,
            sites,
            fallback,
            fixed: Fixed::new(),
            certs: CertStore::default(),
            pairs: Vec::new(),
            draining: false,
        }
    }

    /// This state, shutting down: the same answers, but the health endpoint says 503.
    pub fn draining(&self) -> State {
        State {
            draining: true,
            ..self.clone()
        }
    }

    /// The site that answers the requested host. Never another domain's by accident: with
    /// several domains only an exact (case-insensitive) match or the explicit default. `host`
    /// is called only when there is a choice: with one domain, the commonest set-up, the
    /// request path skips parsing `Host` (bench/instructions.sh: 9651 -> 9067 instructions
    /// per plain HTTP/1.1 request).
    pub fn site<'h>(&self, host: impl FnOnce() -> Option<&'h str>) -> Option<&Site> {
        if self.sites.len() > 1
            && let Some(h) = host()
            && let Some(s) = self.sites.iter().find(|s| s.name.eq_ignore_ascii_case(h))
        {
            return Some(s);
        }
        self.sites.get(self.fallback?)
    }
}

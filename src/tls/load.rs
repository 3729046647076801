//! From the certificate files a config names to the [`CertStore`] that serves them, with what
//! the operator should hear: a certificate that does not cover its domain, one near expiry.

use super::certs::Pair;
use super::store::CertStore;
use crate::config::{self, Config};

/// Every pair a config names, loaded and consistent.
#[derive(Debug)]
pub struct Loaded {
    pub store: CertStore,
    /// Every pair, the default `[tls]` first, for expiry reports and renewal checks.
    pub pairs: Vec<Pair>,
    pub warnings: Vec<String>,
}

/// Loads `[tls]` and every `[domain.tls]`; the first file that cannot be used is the error.
pub fn load(config: &Config) -> Result<Loaded, config::Error> {
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
    let mut warnings = Vec::new();
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
    let fallback = default
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
    let pairs: Vec<Pair> = default
        .into_iter()
        .chain(own.into_iter().map(|(_, p)| p))
        .collect();
    let now = crate::civil::now_secs();
    warnings.extend(pairs.iter().filter_map(|p| p.expiry_warning(now)));
    Ok(Loaded {
        store: CertStore::new(by_name, fallback),
        pairs,
        warnings,
    })
}

//! From the certificate files a config names to the [`CertStore`] that serves them, with what
//! the operator should hear: a certificate that does not cover its domain, one near expiry,
//! a domain still waiting for its first certificate from the CA.

use super::certs::Pair;
use super::store::CertStore;
use crate::config::{self, Config, TlsPaths};

/// Every pair a config names, loaded and consistent.
#[derive(Debug)]
pub struct Loaded {
    pub store: CertStore,
    /// Every pair, the default `[tls]` first, for expiry reports and renewal checks.
    pub pairs: Vec<Pair>,
    /// ACME domains whose certificate is not in `state_dir` (yet): watched for its arrival.
    pub waiting: Vec<TlsPaths>,
    pub warnings: Vec<String>,
    /// What clients will refuse: an expired certificate, one that does not cover its domain.
    /// The daemon serves anyway (a renewal may be on its way); `check` says FAILED.
    pub refused: Vec<String>,
}

/// Loads `[tls]` and every `[domain.tls]`; the first file that cannot be used is the error.
/// An ACME domain's certificate that is missing (or unusable: the client replaces it) makes
/// that domain wait instead.
pub fn load(config: &Config) -> Result<Loaded, config::Error> {
    let default = config
        .tls
        .as_ref()
        .map(|p| Pair::load(&config.path, p))
        .transpose()?;
    let mut own: Vec<(usize, Option<Pair>)> = Vec::new();
    let (mut waiting, mut warnings, mut refused) = (Vec::new(), Vec::new(), Vec::new());
    for (i, d) in config.domains.iter().enumerate() {
        let Some(paths) = &d.tls else { continue };
        let pair = match (d.acme, Pair::load(&config.path, paths)) {
            (_, Ok(pair)) => Some(pair),
            (false, Err(e)) => return Err(e),
            (true, Err(e)) => {
                if paths.certificate.exists() {
                    warnings.push(format!("{}: {e}; ordering a new one", paths.key));
                }
                waiting.push(paths.clone());
                None
            }
        };
        own.push((i, pair));
    }
    for (i, d) in config.domains.iter().enumerate() {
        let pair = match own.iter().find(|(j, _)| *j == i) {
            Some((_, pair)) => pair.as_ref(),
            None => default.as_ref(),
        };
        if let Some(p) = pair.filter(|p| !p.covers(&d.name)) {
            refused.push(format!(
                "domain[{i}]: the certificate {} does not cover `{}`: clients will refuse TLS for it",
                p.paths.certificate.display(),
                d.name
            ));
        }
    }
    let loaded = || own.iter().filter_map(|(i, p)| Some((*i, p.as_ref()?)));
    let fallback = default
        .as_ref()
        .or_else(|| {
            loaded()
                .find(|(i, _)| config.domains[*i].default)
                .or(loaded().next())
                .map(|(_, p)| p)
        })
        .map(|p| p.key.clone());
    let by_name = own
        .iter()
        .map(|(i, p)| {
            let key = p.as_ref().map(|p| p.key.clone());
            (config.domains[*i].name.as_str().into(), key)
        })
        .collect();
    let pairs: Vec<Pair> = default
        .into_iter()
        .chain(own.into_iter().filter_map(|(_, p)| p))
        .collect();
    let now = crate::civil::now_secs();
    for (expired, line) in pairs.iter().filter_map(|p| p.expiry_warning(now)) {
        if expired { &mut refused } else { &mut warnings }.push(line);
    }
    Ok(Loaded {
        store: CertStore::new(by_name, fallback),
        pairs,
        waiting,
        warnings,
        refused,
    })
}

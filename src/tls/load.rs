//! From the certificate files a config names to the [`CertStore`] that serves them, with what
//! the operator should hear: a certificate that does not cover its domain, one near expiry,
//! a domain still waiting for its first certificate from the CA, two pairs of one key type.

use std::path::Path;
use std::sync::Arc;

use rustls::SignatureAlgorithm;
use rustls::sign::CertifiedKey;

use super::certs::Pair;
use super::store::{CertStore, Keys};
use super::tickets::TicketKeys;
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
    let default = set(config, &config.tls)?;
    let mut own: Vec<(usize, Option<Vec<Pair>>)> = Vec::new();
    let (mut waiting, mut warnings, mut refused) = (Vec::new(), Vec::new(), Vec::new());
    for (i, d) in config
        .domains
        .iter()
        .enumerate()
        .filter(|(_, d)| !d.tls.is_empty())
    {
        let pairs = match d.acme {
            false => Some(set(config, &d.tls)?),
            true => acme_pairs(config, &d.tls, &mut waiting, &mut warnings),
        };
        own.push((i, pairs));
    }
    for (i, d) in config.domains.iter().enumerate() {
        let pairs = match own.iter().find(|(j, _)| *j == i) {
            Some((_, pairs)) => pairs.as_deref().unwrap_or_default(),
            None => &default,
        };
        for p in pairs.iter().filter(|p| !p.covers(&d.name)) {
            refused.push(format!(
                "domain[{i}]: the certificate {} does not cover `{}`: clients will refuse TLS for it",
                p.paths.certificate.display(),
                d.name
            ));
        }
    }
    let mut store = store(config, &default, &own);
    store.tickets = config
        .ticket_key_file
        .as_deref()
        .map(|path| tickets(config, path))
        .transpose()?;
    let pairs: Vec<Pair> = default
        .into_iter()
        .chain(own.into_iter().filter_map(|(_, p)| p).flatten())
        .collect();
    let now = crate::civil::now_secs();
    for (expired, line) in pairs.iter().filter_map(|p| p.expiry_warning(now)) {
        if expired { &mut refused } else { &mut warnings }.push(line);
    }
    Ok(Loaded {
        store,
        pairs,
        waiting,
        warnings,
        refused,
    })
}

/// The store: each domain's own keys by name, and the default `[tls]` (else the `default`
/// domain's, else the first loaded) for every other SNI.
fn store(config: &Config, default: &[Pair], own: &[(usize, Option<Vec<Pair>>)]) -> CertStore {
    let loaded = || own.iter().filter_map(|(i, p)| Some((*i, p.as_deref()?)));
    let fallback = Some(default)
        .filter(|d| !d.is_empty())
        .or_else(|| {
            loaded()
                .find(|(i, _)| config.domains[*i].default)
                .or(loaded().next())
                .map(|(_, p)| p)
        })
        .map(keys);
    let by_name = own
        .iter()
        .map(|(i, p)| {
            (
                config.domains[*i].name.as_str().into(),
                p.as_deref().map(keys),
            )
        })
        .collect();
    CertStore::new(by_name, fallback)
}

fn tickets(config: &Config, path: &Path) -> Result<Arc<TicketKeys>, config::Error> {
    TicketKeys::read(path)
        .map(Arc::new)
        .map_err(|m| config::Error::Invalid {
            path: config.path.clone(),
            key: "tls.ticket_key_file".into(),
            message: format!("{}: {m}", path.display()),
        })
}

/// The ACME certificates of a domain that load (one per key type); each missing or unusable
/// one is waited for, as the client orders it. `None` when none loads yet.
fn acme_pairs(
    config: &Config,
    tls: &[TlsPaths],
    waiting: &mut Vec<TlsPaths>,
    warnings: &mut Vec<String>,
) -> Option<Vec<Pair>> {
    let mut pairs = Vec::new();
    for paths in tls {
        match Pair::load(&config.path, paths) {
            Ok(pair) => pairs.push(pair),
            Err(e) => {
                if paths.certificate.exists() {
                    warnings.push(format!("{}: {e}; ordering a new one", paths.key));
                }
                waiting.push(paths.clone());
            }
        }
    }
    (!pairs.is_empty()).then_some(pairs)
}

/// The pairs of one `[tls]`: at most one per key type.
fn set(config: &Config, paths: &[TlsPaths]) -> Result<Vec<Pair>, config::Error> {
    let pairs = paths
        .iter()
        .map(|p| Pair::load(&config.path, p))
        .collect::<Result<Vec<Pair>, _>>()?;
    if let [a, b] = pairs.as_slice()
        && a.key.key.algorithm() == b.key.key.algorithm()
    {
        let key = a.paths.key.rsplit_once('[').map_or("", |(k, _)| k);
        return Err(config::Error::Invalid {
            path: config.path.clone(),
            key: key.to_owned(),
            message: format!(
                "both pairs have {:?} keys: list one ECDSA and one RSA pair, so each client \
                 gets the one it can verify",
                a.key.key.algorithm()
            ),
        });
    }
    Ok(pairs)
}

/// The keys of `pairs`, the cheapest to sign with first: ECDSA and Ed25519 before RSA.
fn keys(pairs: &[Pair]) -> Keys {
    let mut keys: Vec<Arc<CertifiedKey>> = pairs.iter().map(|p| p.key.clone()).collect();
    keys.sort_by_key(|k| k.key.algorithm() == SignatureAlgorithm::RSA);
    keys.into()
}

//! From [`ConfigFile`] to [`Config`]: every rule that a well-formed TOML file can still break.
//! Validation goes on past an error, so one run reports every error (one line each);
//! warnings are collected for the operator.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::error::Error;
use super::file::{ConfigFile, DomainFile, TlsFile};
use super::model::Loaded;
use super::model::{Acme, Config, Domain, TlsPaths};
use super::validator::Validator;
use super::{acme, documents, names, serving};

/// Synapse clamps the max-age it reads to [5 min, 48 h]: values outside do nothing but mislead.
const CACHE_RANGE: std::ops::RangeInclusive<u64> = 300..=172_800;
const CACHE_DEFAULT: u64 = 14_400;

pub fn validate(
    path: &Path,
    file: ConfigFile,
    credentials: Option<&Path>,
) -> Result<Loaded, Error> {
    let credentials = credentials
        .map(Path::to_owned)
        .or_else(|| std::env::var_os("CREDENTIALS_DIRECTORY").map(PathBuf::from));
    let mut v = Validator::new(path, credentials);
    let serving = serving::read(&v, &file);
    let acme = match (&serving, &file.acme) {
        (Ok(s), Some(a)) => acme::read(&v, a, &s.listen).map(Some),
        _ => Ok(None),
    };
    let cache = cache_max_age(
        &v,
        "cache_max_age_secs",
        file.cache_max_age_secs,
        CACHE_DEFAULT,
    );
    let (serving, acme) = (v.collect(serving), v.collect(acme).flatten());
    let cache = v.collect(cache).unwrap_or(CACHE_DEFAULT);
    let tls = file
        .tls
        .as_ref()
        .map(|t| tls_paths(&v, "tls", t))
        .transpose();
    let tls = v.collect(tls).flatten().unwrap_or_default();
    let ticket_key_file = file
        .tls
        .as_ref()
        .and_then(|t| t.ticket_key_file.as_deref())
        .map(|p| certificate_path(&v, p));
    if file.domain.is_empty() {
        let e = v.err(
            "domain",
            "no [[domain]] configured: add one with `name` and `server`",
        );
        v.errors.push(e);
    }
    let domains = domains(&mut v, &file, cache, acme.as_ref());
    let Some(serving) = serving.filter(|_| v.errors.is_empty()) else {
        return Err(Error::all(v.errors));
    };
    let config = Config {
        path: path.to_owned(),
        listen: serving.listen,
        limits: serving.limits,
        health: serving.health,
        access_log: serving.access_log,
        tls,
        ticket_key_file,
        certificate_check_secs: serving.certificate_check_secs,
        shutdown_grace_secs: serving.shutdown_grace_secs,
        acme,
        domains,
    };
    // Plain-HTTP listeners only (TLS terminated in front) need no certificate; with none
    // configured (socket activation), the daemon checks once it sees systemd's sockets.
    if !config.listen.https.is_empty() {
        config.require_certificates()?;
    }
    Ok(Loaded {
        config,
        warnings: v.warnings,
    })
}

/// Every `[[domain]]` that validates; the others' errors are kept in `v`.
fn domains(v: &mut Validator, file: &ConfigFile, cache: u64, acme: Option<&Acme>) -> Vec<Domain> {
    let mut domains: Vec<Domain> = Vec::with_capacity(file.domain.len());
    let mut seen = HashMap::new();
    for (i, d) in file.domain.iter().enumerate() {
        let key = format!("domain[{i}]");
        let Some(mut domain) = self::domain(v, &key, d, cache) else {
            continue;
        };
        if let (true, Some(acme)) = (domain.tls.is_empty(), acme) {
            domain.tls = acme.certificates(&domain.name);
            domain.acme = true;
        }
        if let Some(j) = seen.insert(domain.name.clone(), i) {
            let e = v.err(
                format!("{key}.name"),
                format!("`{}` is already domain[{j}]", domain.name),
            );
            v.errors.push(e);
        }
        if let Some(j) = domains
            .iter()
            .position(|o| o.default)
            .filter(|_| domain.default)
        {
            let e = v.err(
                format!("{key}.default"),
                format!("domain[{j}] is already the default; only one may be"),
            );
            v.errors.push(e);
        }
        domains.push(domain);
    }
    domains
}

fn cache_max_age(v: &Validator, key: &str, value: Option<u64>, default: u64) -> Result<u64, Error> {
    match value {
        None => Ok(default),
        Some(n) if CACHE_RANGE.contains(&n) => Ok(n),
        Some(n) => Err(v.err(
            key,
            format!(
                "{n} is outside 300..=172800: Synapse clamps the cache period to [5 min, 48 h], so {n} would not do what it says"
            ),
        )),
    }
}

/// The pairs of a `[tls]` table: `certificate` and `private_key`, or `certificates`, two pairs
/// at most (one per key type; which type each is, is known once the keys are read).
fn tls_paths(v: &Validator, key: &str, t: &TlsFile) -> Result<Vec<TlsPaths>, Error> {
    let pair = |k: String, certificate: &str, private_key: &str| TlsPaths {
        key: k,
        certificate: certificate_path(v, certificate),
        private_key: certificate_path(v, private_key),
    };
    if t.ticket_key_file.is_some() && key != "tls" {
        let message =
            "belongs in the top-level [tls]: ticket keys are the daemon's, not a domain's";
        return Err(v.err(format!("{key}.ticket_key_file"), message));
    }
    match (&t.certificate, &t.private_key, t.certificates.as_slice()) {
        (Some(c), Some(k), []) => Ok(vec![pair(key.to_owned(), c, k)]),
        (None, None, pairs @ [_] | pairs @ [_, _]) => Ok(pairs
            .iter()
            .enumerate()
            .map(|(i, p)| {
                pair(
                    format!("{key}.certificates[{i}]"),
                    &p.certificate,
                    &p.private_key,
                )
            })
            .collect()),
        // Every domain has a certificate of its own; the top level holds only the tickets.
        (None, None, []) if t.ticket_key_file.is_some() => Ok(vec![]),
        (None, None, []) => Err(v.err(
            key,
            "names no certificate: write `certificate` and `private_key`",
        )),
        (None, None, _) => Err(v.err(
            format!("{key}.certificates"),
            "lists more than two pairs: list one ECDSA and one RSA pair",
        )),
        (Some(_), None, []) | (None, Some(_), []) => Err(v.err(
            key,
            "needs both `certificate` and `private_key` (the chain and its key)",
        )),
        _ => Err(v.err(
            key,
            "has both `certificate`/`private_key` and `certificates`: keep one form (for two \
             pairs, move the first into `certificates`)",
        )),
    }
}

/// Relative paths are resolved in `$CREDENTIALS_DIRECTORY` (systemd `LoadCredential=`) when
/// it is set, else next to the config file.
fn certificate_path(v: &Validator, path: &str) -> PathBuf {
    let base = v
        .credentials
        .clone()
        .unwrap_or_else(|| v.path.parent().map(Path::to_owned).unwrap_or_default());
    base.join(path)
}

/// One `[[domain]]`, or `None` with its errors kept in `v`.
fn domain(v: &mut Validator, key: &str, d: &DomainFile, cache: u64) -> Option<Domain> {
    let before = v.errors.len();
    let name = v.check(&format!("{key}.name"), names::domain_name(&d.name));
    let name = v.collect(name);
    let cache = cache_max_age(
        v,
        &format!("{key}.cache_max_age_secs"),
        d.cache_max_age_secs,
        cache,
    );
    let cache = v.collect(cache);
    let documents = documents::build(v, key, d);
    let files = documents::files(v, key, d);
    let redirect = d
        .redirect
        .as_deref()
        .map(|r| documents::url(v, key, d, "redirect", r))
        .transpose();
    let redirect = v.collect(redirect);
    let (Some(name), Some(cache), Some(redirect), true) =
        (name, cache, redirect, v.errors.len() == before)
    else {
        return None;
    };
    if documents.iter().all(Option::is_none) && files.is_empty() {
        let e = v.err(key, format!("`{name}` configures no document: add `server`, [{key}.client], [{key}.support], [{key}.policy_server], [{key}.element] or [[{key}.file]]"));
        v.errors.push(e);
        return None;
    }
    let tls = d
        .tls
        .as_ref()
        .map(|t| tls_paths(v, &format!("{key}.tls"), t))
        .transpose();
    let tls = v.collect(tls).flatten().unwrap_or_default();
    let cache_max_age_secs = u32::try_from(cache).unwrap_or(u32::MAX);
    Some(Domain {
        name,
        default: d.default,
        cache_max_age_secs,
        redirect,
        tls,
        acme: false,
        documents,
        files,
    })
}

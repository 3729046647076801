//! From [`ConfigFile`] to [`Config`]: every rule that a well-formed TOML file can still break.
//! The first error stops the load; warnings are collected for the operator.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use super::file::{ClientFile, ConfigFile, DomainFile, SupportFile, TlsFile};
use super::model::{Config, Document, Domain, TlsPaths};
use super::{Error, Loaded, json, names};

/// Synapse clamps the max-age it reads to [5 min, 48 h]: values outside do nothing but mislead.
const CACHE_RANGE: std::ops::RangeInclusive<u64> = 300..=172_800;
const CACHE_DEFAULT: u64 = 14_400;
/// certbot renews 30 days before expiry; a check a minute costs two stat() calls per pair.
const CERT_CHECK_DEFAULT: u64 = 60;
/// Below systemd's default TimeoutStopSec (90 s), so a stop never ends in SIGKILL.
const GRACE_DEFAULT: u64 = 10;

/// Client keys that clients have stopped reading; serving them only confuses.
const DEPRECATED_CLIENT_KEYS: [(&str, &str); 3] = [
    (
        "org.matrix.msc3575.proxy",
        "the sliding-sync proxy is archived; Synapse serves sliding sync natively",
    ),
    (
        "org.matrix.msc2965.authentication",
        "replaced by /_matrix/client/v1/auth_metadata",
    ),
    (
        "im.vector.riot.",
        "Riot-era keys are ignored by current Element",
    ),
];

struct Validator<'a> {
    path: &'a Path,
    warnings: Vec<String>,
}

impl Validator<'_> {
    fn err(&self, key: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Invalid {
            path: self.path.to_owned(),
            key: key.into(),
            message: message.into(),
        }
    }

    fn warn(&mut self, key: &str, message: impl std::fmt::Display) {
        self.warnings.push(format!("{key}: {message}"));
    }

    /// Runs a grammar check from [`names`], turning its message into an error at `key`.
    fn check<T>(&self, key: &str, r: Result<T, String>) -> Result<T, Error> {
        r.map_err(|m| self.err(key, m))
    }
}

pub fn validate(path: &Path, file: ConfigFile) -> Result<Loaded, Error> {
    let mut v = Validator {
        path,
        warnings: Vec::new(),
    };
    let https = addresses(&v, "listen.https", &file.listen.https)?;
    let http = addresses(&v, "listen.http", &file.listen.http)?;
    if let Some(dup) = https.iter().find(|a| a.port() != 0 && http.contains(a)) {
        return Err(v.err(
            "listen",
            format!("{dup} is listed under both https and http"),
        ));
    }
    let cache = cache_max_age(
        &v,
        "cache_max_age_secs",
        file.cache_max_age_secs,
        CACHE_DEFAULT,
    )?;
    let tls = file.tls.as_ref().map(|t| tls_paths(path, "tls", t));
    if file.domain.is_empty() {
        return Err(v.err(
            "domain",
            "no [[domain]] configured: add one with `name` and `server`",
        ));
    }
    // A config with plain-HTTP listeners only (TLS terminated in front) needs no certificate.
    let needs_tls = !https.is_empty() || http.is_empty();
    let mut domains: Vec<Domain> = Vec::with_capacity(file.domain.len());
    let mut seen = HashMap::new();
    for (i, d) in file.domain.iter().enumerate() {
        let key = format!("domain[{i}]");
        let domain = self::domain(&mut v, &key, d, cache)?;
        if let Some(j) = seen.insert(domain.name.clone(), i) {
            return Err(v.err(
                format!("{key}.name"),
                format!("`{}` is already domain[{j}]", domain.name),
            ));
        }
        if let Some(j) = domains
            .iter()
            .position(|o| o.default)
            .filter(|_| domain.default)
        {
            return Err(v.err(
                format!("{key}.default"),
                format!("domain[{j}] is already the default; only one may be"),
            ));
        }
        if needs_tls && domain.tls.is_none() && tls.is_none() {
            return Err(v.err(
                "tls",
                format!(
                    "no certificate for {key} (`{}`): add a top-level [tls] or a [{key}.tls]",
                    domain.name
                ),
            ));
        }
        domains.push(domain);
    }
    let certificate_check_secs = bounded(
        &v,
        "certificate_check_secs",
        file.certificate_check_secs,
        CERT_CHECK_DEFAULT,
        86_400,
    )?;
    let shutdown_grace_secs = bounded(
        &v,
        "shutdown_grace_secs",
        file.shutdown_grace_secs,
        GRACE_DEFAULT,
        3_600,
    )?;
    let config = Config {
        path: path.to_owned(),
        https,
        http,
        tls,
        certificate_check_secs,
        shutdown_grace_secs,
        domains,
    };
    Ok(Loaded {
        config,
        warnings: v.warnings,
    })
}

fn addresses(v: &Validator, key: &str, list: &[String]) -> Result<Vec<SocketAddr>, Error> {
    let mut out: Vec<SocketAddr> = Vec::with_capacity(list.len());
    for (i, s) in list.iter().enumerate() {
        let addr: SocketAddr = s.parse().map_err(|_| {
            v.err(
                format!("{key}[{i}]"),
                format!("`{s}` is not a socket address: write e.g. `[::]:443` or `0.0.0.0:443`"),
            )
        })?;
        if addr.port() != 0 && out.contains(&addr) {
            return Err(v.err(format!("{key}[{i}]"), format!("{addr} is listed twice")));
        }
        out.push(addr);
    }
    Ok(out)
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

fn bounded(
    v: &Validator,
    key: &str,
    value: Option<u64>,
    default: u64,
    max: u64,
) -> Result<u64, Error> {
    match value.unwrap_or(default) {
        n if n <= max => Ok(n),
        n => Err(v.err(key, format!("{n} is more than {max} seconds"))),
    }
}

/// Relative paths are resolved in `$CREDENTIALS_DIRECTORY` (systemd `LoadCredential=`) when
/// it is set, else next to the config file.
fn tls_paths(config: &Path, key: &str, t: &TlsFile) -> TlsPaths {
    let base = std::env::var_os("CREDENTIALS_DIRECTORY")
        .map(PathBuf::from)
        .unwrap_or_else(|| config.parent().map(Path::to_owned).unwrap_or_default());
    TlsPaths {
        key: key.to_owned(),
        certificate: base.join(&t.certificate),
        private_key: base.join(&t.private_key),
    }
}

fn domain(v: &mut Validator, key: &str, d: &DomainFile, cache: u64) -> Result<Domain, Error> {
    let name = v.check(&format!("{key}.name"), names::domain_name(&d.name))?;
    let cache = cache_max_age(
        v,
        &format!("{key}.cache_max_age_secs"),
        d.cache_max_age_secs,
        cache,
    )?;
    let url = |v: &Validator, k: &str, s: &str| {
        v.check(&format!("{key}.{k}"), names::base_url(s, d.allow_http_urls))
    };
    let mut documents: [Option<Value>; 4] = Default::default();
    if let Some(s) = &d.server {
        let k = format!("{key}.server");
        let hp = v.check(&k, names::server_name(s))?;
        if hp.port.is_none() {
            v.warn(&k, format!("`{s}` has no port: remote servers will look up SRV records for it, then connect to port 8448; write `{s}:443` if it listens on 443"));
        }
        documents[Document::Server as usize] = Some(json!({ "m.server": s }));
    }
    if let Some(c) = &d.client {
        documents[Document::Client as usize] = Some(client(v, key, c, &url)?);
    }
    if let Some(s) = &d.support {
        documents[Document::Support as usize] = Some(support(v, key, s, &url)?);
    }
    if let Some(p) = &d.policy_server {
        let k = format!("{key}.policy_server.ed25519");
        let bytes = v.check(
            &k,
            crate::base64::decode(&p.ed25519).map_err(|e| format!("`{}` {e}", p.ed25519)),
        )?;
        if bytes.len() != 32 {
            return Err(v.err(
                k,
                format!(
                    "decodes to {} bytes; an ed25519 public key is 32",
                    bytes.len()
                ),
            ));
        }
        documents[Document::PolicyServer as usize] =
            Some(json!({ "public_keys": { "ed25519": p.ed25519 } }));
    }
    if documents.iter().all(Option::is_none) {
        return Err(v.err(key, format!("`{name}` configures no document: add `server`, [{key}.client], [{key}.support] or [{key}.policy_server]")));
    }
    let redirect = d
        .redirect
        .as_deref()
        .map(|r| url(v, "redirect", r))
        .transpose()?;
    let tls = d
        .tls
        .as_ref()
        .map(|t| tls_paths(v.path, &format!("{key}.tls"), t));
    let cache_max_age_secs = u32::try_from(cache).unwrap_or(u32::MAX);
    Ok(Domain {
        name,
        default: d.default,
        cache_max_age_secs,
        redirect,
        tls,
        documents,
    })
}

type UrlCheck<'a> = dyn Fn(&Validator, &str, &str) -> Result<String, Error> + 'a;

fn client(v: &mut Validator, key: &str, c: &ClientFile, url: &UrlCheck) -> Result<Value, Error> {
    let mut doc = Map::new();
    doc.insert(
        "m.homeserver".into(),
        json!({ "base_url": url(v, "client.homeserver", &c.homeserver)? }),
    );
    if let Some(is) = &c.identity_server {
        doc.insert(
            "m.identity_server".into(),
            json!({ "base_url": url(v, "client.identity_server", is)? }),
        );
    }
    for (name, value) in &c.extra {
        let k = format!("{key}.client.extra.\"{name}\"");
        if name == "m.homeserver" || name == "m.identity_server" {
            return Err(v.err(
                k,
                format!("`{name}` is built from `homeserver`/`identity_server`; set it there"),
            ));
        }
        if !name.contains('.') {
            return Err(v.err(
                k,
                format!("`{name}` is not namespaced: extra keys look like `org.example.{name}`"),
            ));
        }
        if let Some((_, why)) = DEPRECATED_CLIENT_KEYS
            .iter()
            .find(|(p, _)| name.starts_with(p))
        {
            v.warn(&k, format!("deprecated: {why}"));
        }
        doc.insert(name.clone(), v.check(&k, json::from_toml(value, &k))?);
    }
    Ok(Value::Object(doc))
}

fn support(v: &mut Validator, key: &str, s: &SupportFile, url: &UrlCheck) -> Result<Value, Error> {
    let mut doc = Map::new();
    if s.contacts.is_empty() && s.page.is_none() {
        return Err(v.err(
            format!("{key}.support"),
            "needs `page` or at least one [[contacts]]: an empty support document is invalid",
        ));
    }
    let mut contacts = Vec::with_capacity(s.contacts.len());
    for (i, c) in s.contacts.iter().enumerate() {
        let k = format!("{key}.support.contacts[{i}]");
        let known = ["m.role.admin", "m.role.security"].contains(&c.role.as_str());
        if !known && (c.role.starts_with("m.") || !c.role.contains('.')) {
            return Err(v.err(format!("{k}.role"), format!("`{}` is not `m.role.admin`, `m.role.security` or a namespaced role like `org.example.moderator`", c.role)));
        }
        let mut contact = Map::new();
        contact.insert("role".into(), c.role.clone().into());
        if let Some(id) = &c.matrix_id {
            v.check(&format!("{k}.matrix_id"), names::user_id(id))?;
            contact.insert("matrix_id".into(), id.clone().into());
        }
        if let Some(mail) = &c.email_address {
            v.check(&format!("{k}.email_address"), names::email(mail))?;
            contact.insert("email_address".into(), mail.clone().into());
        }
        if contact.len() == 1 {
            return Err(v.err(k, "needs `matrix_id` or `email_address`"));
        }
        contacts.push(Value::Object(contact));
    }
    if !contacts.is_empty() {
        doc.insert("contacts".into(), Value::Array(contacts));
    }
    if let Some(p) = &s.page {
        doc.insert("support_page".into(), url(v, "support.page", p)?.into());
    }
    Ok(Value::Object(doc))
}

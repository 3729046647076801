//! `wellknownd check`: load everything the daemon would load and print exactly what it would
//! serve, like `nginx -t` but showing the documents.

use std::fmt::Write as _;
use std::path::Path;

use crate::acme::Status;
use crate::build::Built;
use crate::civil::format_utc;
use crate::config::{self, Acme, Document, Domain, KeyType, TlsPaths};
use crate::http::Prepared;

/// What `check` found: the report for stdout, the warnings and what clients would refuse
/// for stderr.
#[derive(Debug)]
pub struct Report {
    pub text: String,
    pub warnings: Vec<String>,
    /// What the daemon would serve but clients would refuse: an expired certificate, one that
    /// does not cover its domain, a chain without its intermediate.
    pub refused: Vec<String>,
}

/// `check`'s exit status when the daemon would start but clients would refuse a certificate
/// (1 is "would not start"; 0 all well, warnings allowed).
pub const CLIENTS_WOULD_FAIL: u8 = 3;

impl Report {
    /// The last line `check` prints, and its exit status.
    pub fn verdict(&self, path: &Path) -> (String, u8) {
        let warnings = count(self.warnings.len(), "warning");
        if self.refused.is_empty() {
            let tail = if self.warnings.is_empty() {
                String::new()
            } else {
                format!(", {warnings}")
            };
            return (format!("{}: OK{tail}", path.display()), 0);
        }
        let problems = count(self.refused.len(), "problem");
        let line = format!(
            "{}: FAILED for clients, {problems}, {warnings}: the daemon would start, but clients would refuse what it serves",
            path.display()
        );
        (line, CLIENTS_WOULD_FAIL)
    }
}

/// The line `check` ends with when the daemon would not start.
pub fn failed(path: &Path, errors: usize) -> String {
    format!(
        "{}: FAILED, {}: the daemon would not start",
        path.display(),
        count(errors, "error")
    )
}

fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// Runs the check; `Err` is the line explaining why the daemon would not start. With
/// `no_tls`, certificates are not read (nor checked); with `credentials`, relative
/// certificate paths are read there, as the service reads them.
pub fn run(path: &Path, no_tls: bool, credentials: Option<&Path>) -> Result<Report, config::Error> {
    let loaded = config::load_with(path, credentials)?;
    let mut built = match no_tls {
        true => Built::without_certs(loaded.config),
        false => Built::new(loaded.config)?,
    };
    let mut out = describe(&built);
    let _ = writeln!(
        out,
        "{} domain(s), {} listener(s)",
        built.router.sites().len(),
        built.config.listen.describe().len()
    );
    let mut refused = std::mem::take(&mut built.refused);
    if !built.pairs.is_empty() {
        let roots = crate::tls::roots::system_subjects();
        refused.extend(
            built
                .pairs
                .iter()
                .filter_map(|p| crate::tls::report::missing_intermediate(p, &roots)),
        );
    }
    let mut warnings: Vec<String> = loaded
        .warnings
        .into_iter()
        .chain(std::mem::take(&mut built.warnings))
        .collect();
    let listen = &built.config.listen;
    if let (true, true, Err(e)) = (
        listen.https.is_empty(),
        listen.http.is_empty(),
        built.config.require_certificates(),
    ) {
        warnings.push(format!(
            "{e}. Under socket activation that is right only if systemd passes `http` sockets \
             alone; with an `https` socket the daemon will not start"
        ));
    }
    Ok(Report {
        text: out,
        warnings,
        refused,
    })
}

/// Every listener, certificate and domain, with each document's status, headers and body.
pub fn describe(built: &Built) -> String {
    let mut out = String::new();
    let c = &built.config;
    for l in c.listen.describe() {
        let _ = writeln!(out, "listen {l}");
    }
    let now = crate::civil::now_secs();
    for p in &built.pairs {
        out.push_str(&crate::tls::report::describe(p, now));
    }
    let status = c.acme.as_ref().map(|a| Status::read(&a.status()));
    for (site, domain) in built.router.sites().iter().zip(&c.domains) {
        let default = if domain.default { " (default)" } else { "" };
        let _ = writeln!(out, "\ndomain {}{default}", site.name);
        let _ = writeln!(
            out,
            "  certificate: {}",
            source(built, domain, status.as_ref())
        );
        for doc in Document::ALL {
            match &site.documents[doc as usize] {
                Some(p) => response(&mut out, doc.path(), p),
                None => {
                    let _ = writeln!(out, "  {}: not configured, answers 404", doc.path());
                }
            }
        }
        for (path, p) in &site.files {
            response(&mut out, path, p);
        }
        if let Some(r) = &site.redirect {
            let _ = writeln!(out, "  other paths: 308 to {r}<path>");
        }
    }
    out
}

/// Where `domain`'s certificate comes from, and for ACME when it was issued and renews.
fn source(built: &Built, domain: &Domain, status: Option<&Status>) -> String {
    let files = |pairs: &[TlsPaths]| {
        let names: Vec<String> = pairs
            .iter()
            .map(|p| p.certificate.display().to_string())
            .collect();
        names.join(" and ")
    };
    if domain.tls.is_empty() {
        return match built.config.tls.as_slice() {
            [] => "none (plain-HTTP listeners only)".into(),
            pairs => format!("the default [tls], {}", files(pairs)),
        };
    }
    let (Some(acme), true) = (&built.config.acme, domain.acme) else {
        return format!("files, {}", files(&domain.tls));
    };
    let each = acme.key_types.iter().map(|key| {
        let line = acme_source(built, acme, domain, *key, status);
        match acme.key_types.as_slice() {
            [KeyType::EcdsaP256] => line,
            _ => format!("{}: {line}", key.name()),
        }
    });
    each.collect::<Vec<_>>().join("; ")
}

/// One ACME certificate of `domain`: where from, its dates, the last error, or that it is
/// still awaited.
fn acme_source(
    built: &Built,
    acme: &Acme,
    domain: &Domain,
    key: KeyType,
    status: Option<&Status>,
) -> String {
    let paths = &acme.certificate(&domain.name, key);
    let entry = status.and_then(|s| s.domains.get(&Acme::status_key(&domain.name, key)));
    let when = |t: Option<i64>| t.map_or("?".into(), format_utc);
    let error = entry.and_then(|e| e.last_error.as_deref());
    let error = error
        .map(|e| format!("; last attempt failed: {e}"))
        .unwrap_or_default();
    if !built.pairs.iter().any(|p| &p.paths == paths) {
        return format!(
            "waiting for a certificate for {} from {}{error}",
            domain.name, acme.directory
        );
    }
    format!(
        "ACME from {}, issued {}, expires {}, renews {}{error} ({})",
        acme.directory,
        when(entry.and_then(|e| e.issued)),
        when(entry.and_then(|e| e.expires)),
        when(entry.and_then(|e| e.next_attempt)),
        paths.certificate.display()
    )
}

fn response(out: &mut String, path: &str, p: &Prepared) {
    let _ = writeln!(out, "  GET {path}\n    {}", p.status);
    for (name, value) in &p.headers {
        let _ = writeln!(out, "    {name}: {}", value.to_str().unwrap_or("<binary>"));
    }
    let _ = writeln!(out, "    {}", String::from_utf8_lossy(&p.body));
}

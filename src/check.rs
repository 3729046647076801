//! `wellknownd check`: load everything the daemon would load and print exactly what it would
//! serve, like `nginx -t` but showing the documents.

use std::fmt::Write as _;
use std::path::Path;

use crate::build::Built;
use crate::config::{self, Document};
use crate::http::Prepared;

/// What `check` found: the report for stdout and the warnings for stderr.
#[derive(Debug)]
pub struct Report {
    pub text: String,
    pub warnings: Vec<String>,
}

/// Runs the check; `Err` is the line explaining why the daemon would not start. With
/// `no_tls`, certificates are not read (nor checked).
pub fn run(path: &Path, no_tls: bool) -> Result<Report, config::Error> {
    let loaded = config::load(path)?;
    let mut built = match no_tls {
        true => Built::without_certs(loaded.config),
        false => Built::new(loaded.config)?,
    };
    let mut out = describe(&built);
    let _ = writeln!(
        out,
        "{}: OK, {} domain(s), {} listener(s)",
        path.display(),
        built.router.sites().len(),
        built.config.listen.describe().len()
    );
    let warnings = loaded
        .warnings
        .into_iter()
        .chain(std::mem::take(&mut built.warnings))
        .collect();
    Ok(Report {
        text: out,
        warnings,
    })
}

/// Every listener, certificate and domain, with each document's status, headers and body.
pub fn describe(built: &Built) -> String {
    let mut out = String::new();
    let c = &built.config;
    for l in c.listen.describe() {
        let _ = writeln!(out, "listen {l}");
    }
    for p in &built.pairs {
        let expiry = p
            .not_after
            .map_or("unknown".into(), crate::civil::format_utc);
        let _ = writeln!(
            out,
            "certificate {}: {} (expires {expiry})",
            p.paths.key,
            p.paths.certificate.display()
        );
    }
    for (site, domain) in built.router.sites().iter().zip(&c.domains) {
        let default = if domain.default { " (default)" } else { "" };
        let _ = writeln!(out, "\ndomain {}{default}", site.name);
        for doc in Document::ALL {
            match &site.documents[doc as usize] {
                Some(p) => response(&mut out, doc.path(), p),
                None => {
                    let _ = writeln!(out, "  {}: not configured, answers 404", doc.path());
                }
            }
        }
        if let Some(r) = &site.redirect {
            let _ = writeln!(out, "  other paths: 308 to {r}<path>");
        }
    }
    out
}

fn response(out: &mut String, path: &str, p: &Prepared) {
    let _ = writeln!(out, "  GET {path}\n    {}", p.status);
    for (name, value) in &p.headers {
        let _ = writeln!(out, "    {name}: {}", value.to_str().unwrap_or("<binary>"));
    }
    let _ = writeln!(out, "    {}", String::from_utf8_lossy(&p.body));
}

//! What `check` says of each certificate pair: the names it covers, who issued it, when it
//! expires, that the key matches; and whether clients can build its chain to a root.

use std::fmt::Write as _;

use super::certs::Pair;
use super::x509;

/// The pair's lines for `check`'s report.
pub fn describe(p: &Pair, now: i64) -> String {
    let mut out = format!(
        "certificate {}: {}\n",
        p.paths.key,
        p.paths.certificate.display()
    );
    let leaf = p.key.cert.first().map(|c| c.as_ref()).unwrap_or_default();
    if let Some(names) = x509::names(leaf) {
        let _ = writeln!(out, "  names: {}", names.dns.join(", "));
        let _ = writeln!(out, "  issuer: {}", names.issuer);
    }
    let _ = writeln!(out, "  chain: {} certificate(s)", p.key.cert.len());
    let expiry = p.not_after.map_or("unknown".into(), |t| {
        let days = (t - now).div_euclid(86_400);
        format!("{} ({days} days left)", crate::civil::format_utc(t))
    });
    let _ = writeln!(out, "  expires: {expiry}");
    // The pair loaded, so rustls found the key consistent with the leaf.
    let _ = writeln!(out, "  key: matches ({})", p.paths.private_key.display());
    out
}

/// Clients complete a chain only from what the server sends and the roots they hold: a
/// chain whose last certificate is not a root and whose issuer is not a root of this system
/// (certbot's `cert.pem`, the leaf alone) fails for all of them.
pub fn missing_intermediate(p: &Pair, roots: &[Vec<u8>]) -> Option<String> {
    let last = x509::names(p.key.cert.last()?.as_ref())?;
    if last.issuer_der == last.subject_der || roots.contains(&last.issuer_der) {
        return None;
    }
    let what = match p.key.cert.len() {
        1 => "holds the leaf alone",
        _ => "ends before a root",
    };
    let file = p.paths.certificate.display();
    Some(format!(
        "{}.certificate: {file} {what}, and its issuer `{}` is not a root this system trusts: \
         clients will not complete the chain. Serve the full chain (certbot's fullchain.pem, \
         not cert.pem); with a private CA, every client must trust `{}`",
        p.paths.key, last.issuer, last.issuer
    ))
}

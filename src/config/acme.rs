//! `[acme]`: the CA, the challenge and the state directory, checked before anything is
//! ordered, so a typo is an error at `check` rather than a failed order at 3 a.m.

use std::path::PathBuf;

use super::error::Error;
use super::file::AcmeFile;
use super::model::{Acme, Challenge, KeyType, Listen};
use super::validator::Validator;

/// Let's Encrypt's production directory: what an operator who names no CA means.
pub const LETS_ENCRYPT: &str = "https://acme-v02.api.letsencrypt.org/directory";
/// Where account and certificates live outside systemd (`StateDirectory=` sets
/// `$STATE_DIRECTORY` under it).
pub const STATE_DIR_DEFAULT: &str = "/var/lib/wellknownd";
/// Let's Encrypt's own advice is to renew with a third of a 90-day lifetime left: a month of
/// retries before anything expires.
const RENEW_BEFORE_DEFAULT: u64 = 30;

pub(super) fn read(v: &Validator, file: &AcmeFile, listen: &Listen) -> Result<Acme, Error> {
    let directory = file.directory.as_deref().unwrap_or(LETS_ENCRYPT);
    if !directory.starts_with("https://") || directory.len() <= "https://".len() {
        return Err(v.err(
            "acme.directory",
            format!("`{directory}` is not an https:// URL: ACME directories are served over HTTPS only, e.g. `{LETS_ENCRYPT}`"),
        ));
    }
    if !file.terms_of_service_agreed {
        return Err(v.err(
            "acme.terms_of_service_agreed",
            "the CA requires agreeing to its terms of service before it issues anything: read them (Let's Encrypt: https://letsencrypt.org/repository/) and write `terms_of_service_agreed = true`",
        ));
    }
    for (i, c) in file.contact.iter().enumerate() {
        if !c.starts_with("mailto:") || c.len() <= "mailto:".len() || c.contains([' ', ',']) {
            return Err(v.err(
                format!("acme.contact[{i}]"),
                format!("`{c}` is not a mailto: URL: write e.g. `mailto:admin@example.com`"),
            ));
        }
    }
    let challenge = match file.challenge.as_deref() {
        None | Some("tls-alpn-01") => Challenge::TlsAlpn01,
        Some("http-01") => Challenge::Http01,
        Some(other) => {
            return Err(v.err(
                "acme.challenge",
                format!("`{other}` is not a challenge wellknownd answers: write `tls-alpn-01` or `http-01` (DNS-01 needs your DNS provider: keep certbot for it)"),
            ));
        }
    };
    if challenge == Challenge::Http01 && listen.redirect_http.is_empty() {
        return Err(v.err(
            "acme.challenge",
            "`http-01` is validated on port 80, but there is no listener for it: add `redirect_http = [\"0.0.0.0:80\", \"[::]:80\"]` under [listen], or use `tls-alpn-01`",
        ));
    }
    let renew = file.renew_before_days.unwrap_or(RENEW_BEFORE_DEFAULT);
    if !(1..=365).contains(&renew) {
        return Err(v.err(
            "acme.renew_before_days",
            format!("{renew} is outside 1..=365"),
        ));
    }
    let key_types = key_types(v, file.key_type.as_deref())?;
    let base = v.path.parent().map(PathBuf::from).unwrap_or_default();
    let state_dir = match &file.state_dir {
        Some(dir) => base.join(dir),
        None => std::env::var_os("STATE_DIRECTORY")
            .and_then(|d| std::env::split_paths(&d).next())
            .unwrap_or_else(|| PathBuf::from(STATE_DIR_DEFAULT)),
    };
    Ok(Acme {
        directory: directory.to_owned(),
        contact: file.contact.clone(),
        challenge,
        ca_certificate: file.ca_certificate.as_ref().map(|c| base.join(c)),
        state_dir,
        renew_before_days: u32::try_from(renew).unwrap_or(30),
        key_types,
    })
}

fn key_types(v: &Validator, key_type: Option<&str>) -> Result<Vec<KeyType>, Error> {
    let types = match key_type {
        None | Some("ecdsa-p256") => return Ok(vec![KeyType::EcdsaP256]),
        Some("rsa-2048") => vec![KeyType::Rsa2048],
        Some("both") => vec![KeyType::EcdsaP256, KeyType::Rsa2048],
        Some(other) => {
            return Err(v.err(
                "acme.key_type",
                format!("`{other}` is not a key type wellknownd orders: write `ecdsa-p256` (the default), `rsa-2048`, or `both`"),
            ));
        }
    };
    match wellknownd_shared::GENERATES_RSA {
        true => Ok(types),
        false => Err(v.err(
            "acme.key_type",
            "this wellknownd is built on *ring*, which cannot generate RSA keys: write `ecdsa-p256`, or build wellknownd on aws-lc-rs (`cargo build --release -p wellknownd --no-default-features --features aws-lc-rs`; README, \"Automatic certificates\")",
        )),
    }
}

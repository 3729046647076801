//! Certificate and key files: the PEM forms Let's Encrypt and others produce, and every way
//! they can be wrong, each with a message naming the key and the file.

mod common;

use std::path::Path;
use std::process::Command;

use common::{Pki, TestServer, Via, call};
use rcgen::{CertificateParams, KeyPair};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use wellknownd::build::Built;

fn config(cert: &str, key: &str) -> String {
    format!(
        "[listen]\nhttps = [\"127.0.0.1:0\"]\n[[domain]]\nname = \"example.com\"\nserver = \"matrix.example.com:443\"\n\
         [domain.tls]\ncertificate = \"{cert}\"\nprivate_key = \"{key}\"\n"
    )
}

/// Loads the config as the daemon does; the error or the warnings.
fn build(pki: &Pki, text: &str) -> Result<Vec<String>, String> {
    let path = pki.write("config.toml", text);
    let loaded = wellknownd::config::load(&path).map_err(|e| e.to_string())?;
    Built::new(loaded.config)
        .map(|b| b.warnings.into_iter().chain(b.refused).collect())
        .map_err(|e| e.to_string())
}

/// Rewrites a PKCS#8 key in its traditional form (PKCS#1 for RSA, SEC1 for EC).
fn traditional(pki: &Pki, from: &str, to: &str) {
    let status = Command::new("openssl")
        .args(["pkey", "-traditional", "-in"])
        .arg(pki.path(from))
        .arg("-out")
        .arg(pki.path(to))
        .status()
        .expect("openssl must be installed (.ci/run installs it)");
    assert!(status.success());
}

async fn serves_with(pki: &Pki, cert: &str, key: &str, expect_header: &str) {
    let pem = std::fs::read_to_string(pki.path(key)).unwrap();
    assert!(
        pem.starts_with(expect_header),
        "{key} is {}",
        pem.lines().next().unwrap_or("")
    );
    let server = TestServer::start(pki, &config(cert, key)).await;
    let r = call(
        pki,
        server.tls(),
        Via::H2,
        "GET",
        "example.com",
        "/.well-known/matrix/server",
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.peer,
        Some(CertificateDer::from_pem_file(pki.path(cert)).unwrap())
    );
    server.stop().await;
}

#[tokio::test]
async fn pkcs8_sec1_and_pkcs1_keys_all_serve() {
    let pki = Pki::new();
    pki.leaf("ec", &["example.com"]);
    serves_with(&pki, "ec.crt", "ec.key", "-----BEGIN PRIVATE KEY-----").await;
    traditional(&pki, "ec.key", "ec-sec1.key");
    serves_with(
        &pki,
        "ec.crt",
        "ec-sec1.key",
        "-----BEGIN EC PRIVATE KEY-----",
    )
    .await;

    pki.rsa_leaf("rsa-leaf", &["example.com"]);
    std::fs::rename(pki.path("rsa-leaf.key"), pki.path("rsa-leaf.pk8")).unwrap();
    traditional(&pki, "rsa-leaf.pk8", "rsa-pkcs1.key");
    serves_with(
        &pki,
        "rsa-leaf.crt",
        "rsa-pkcs1.key",
        "-----BEGIN RSA PRIVATE KEY-----",
    )
    .await;
}

#[test]
fn unreadable_or_wrong_files_are_refused_naming_key_and_file() {
    let pki = Pki::new();
    pki.leaf("a", &["example.com"]);
    pki.leaf("b", &["example.com"]);
    let dir = pki.dir.path().display();
    let file = format!("{dir}/config.toml");
    let cases = [
        (
            "missing.crt",
            "a.key",
            format!(
                "domain[0].tls.certificate: {dir}/missing.crt: cannot read: No such file or directory (os error 2)"
            ),
        ),
        (
            "a.key",
            "a.key",
            format!(
                "domain[0].tls.certificate: {dir}/a.key: contains no `BEGIN CERTIFICATE` block"
            ),
        ),
        (
            "a.crt",
            "a.crt",
            format!(
                "domain[0].tls.private_key: {dir}/a.crt: contains no private key (`BEGIN PRIVATE KEY`, `BEGIN RSA PRIVATE KEY` or `BEGIN EC PRIVATE KEY`)"
            ),
        ),
        (
            "a.crt",
            "b.key",
            format!(
                "domain[0].tls.private_key: {dir}/b.key: is not the key of {dir}/a.crt (their public keys differ; mid-renewal, or the wrong file?)"
            ),
        ),
    ];
    for (cert, key, message) in cases {
        assert_eq!(
            build(&pki, &config(cert, key)).unwrap_err(),
            format!("{file}: {message}")
        );
    }
    pki.write(
        "garbage.crt",
        "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
    );
    let e = build(&pki, &config("garbage.crt", "a.key")).unwrap_err();
    assert!(
        e.starts_with(&format!(
            "{file}: domain[0].tls.certificate: {dir}/garbage.crt: is not valid PEM"
        )),
        "{e}"
    );
}

#[test]
fn certificates_that_do_not_cover_the_domain_or_expire_soon_are_warned_about() {
    let pki = Pki::new();
    pki.leaf("other", &["other.example.org"]);
    let warnings = build(&pki, &config("other.crt", "other.key")).unwrap();
    let dir = pki.dir.path().display();
    assert_eq!(
        warnings,
        [format!(
            "domain[0]: the certificate {dir}/other.crt does not cover `example.com`: clients will refuse TLS for it"
        )]
    );

    let today = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        / 86_400;
    for (stem, days, expect) in [
        ("soon", 3, "expires at"),
        ("gone", -2, "EXPIRED at"),
        ("fine", 60, ""),
    ] {
        let mut params = CertificateParams::new(vec!["example.com".to_string()]).unwrap();
        let (y, m, d) = wellknownd::civil::civil_from_days(today + days);
        params.not_after = rcgen::date_time_ymd(y as i32, m as u8, d as u8);
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        pki.leaf_with(stem, params, KeyPair::generate().unwrap());
        let warnings = build(
            &pki,
            &config(&format!("{stem}.crt"), &format!("{stem}.key")),
        )
        .unwrap();
        if expect.is_empty() {
            assert!(warnings.is_empty(), "{warnings:?}");
        } else {
            assert_eq!(warnings.len(), 1);
            let w = &warnings[0];
            assert!(
                w.starts_with(&format!(
                    "domain[0].tls.certificate: {dir}/{stem}.crt {expect}"
                )),
                "{w}"
            );
        }
    }
}

#[test]
fn a_domain_using_the_default_certificate_is_checked_against_it() {
    let pki = Pki::new();
    pki.leaf("default", &["example.com"]);
    let text = "[listen]\nhttps = [\"127.0.0.1:0\"]\n[tls]\ncertificate = \"default.crt\"\nprivate_key = \"default.key\"\n\
                [[domain]]\nname = \"example.com\"\nserver = \"m.example.com:443\"\n\
                [[domain]]\nname = \"example.net\"\nserver = \"m.example.net:443\"\n";
    let warnings = build(&pki, text).unwrap();
    let dir = pki.dir.path().display();
    assert_eq!(
        warnings,
        [format!(
            "domain[1]: the certificate {dir}/default.crt does not cover `example.net`: clients will refuse TLS for it"
        )]
    );
    assert!(Path::new(&pki.path("default.crt")).exists());
}

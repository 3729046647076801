//! `[acme]` and `listen.redirect_http` as the loader reads them: the issue's example loads
//! as written, every mistake is refused naming the key and what to write instead.

use std::path::{Path, PathBuf};

use wellknownd::config::{self, Challenge};

const FILE: &str = "/etc/wellknownd/config.toml";

fn with_acme(listen: &str, acme: &str) -> String {
    format!(
        "[listen]\nhttps = [\"[::]:443\"]\n{listen}\n[acme]\n{acme}\n\
         [[domain]]\nname = \"example.com\"\nserver = \"matrix.example.com:443\"\n\
         [[domain]]\nname = \"files.example\"\nserver = \"matrix.files.example:443\"\n\
         [domain.tls]\ncertificate = \"/c.pem\"\nprivate_key = \"/k.pem\"\n"
    )
}

fn load(text: &str) -> Result<config::Loaded, String> {
    config::parse(Path::new(FILE), text).map_err(|e| e.to_string())
}

fn refused(text: &str, key: &str, message: &str) {
    let e = load(text).expect_err("config should be refused");
    assert_eq!(e, format!("{FILE}: {key}: {message}"));
}

#[test]
fn the_issue_example_loads_and_only_domains_without_files_use_the_ca() {
    let text = with_acme(
        "redirect_http = [\"0.0.0.0:80\", \"[::]:80\"]",
        r#"directory = "https://acme-v02.api.letsencrypt.org/directory"
contact = ["mailto:admin@example.com"]
terms_of_service_agreed = true
challenge = "tls-alpn-01"
ca_certificate = "/path/to/ca.pem"
state_dir = "/var/lib/wellknownd"
renew_before_days = 30"#,
    );
    let c = load(&text).unwrap().config;
    let acme = c.acme.unwrap();
    assert_eq!(
        acme.directory,
        "https://acme-v02.api.letsencrypt.org/directory"
    );
    assert_eq!(acme.contact, ["mailto:admin@example.com"]);
    assert_eq!(acme.challenge, Challenge::TlsAlpn01);
    assert_eq!(acme.ca_certificate, Some(PathBuf::from("/path/to/ca.pem")));
    assert_eq!(acme.state_dir, PathBuf::from("/var/lib/wellknownd"));
    assert_eq!(acme.renew_before_days, 30);
    assert_eq!(c.listen.redirect_http.len(), 2);
    assert!(c.domains[0].acme);
    let own = &c.domains[0].tls[0];
    assert_eq!(
        own.certificate,
        PathBuf::from("/var/lib/wellknownd/certificates/example.com.pem")
    );
    assert!(!c.domains[1].acme, "a domain with files keeps them");
    assert_eq!(c.domains[1].tls[0].certificate, PathBuf::from("/c.pem"));
}

#[test]
fn defaults_are_lets_encrypt_tls_alpn_and_thirty_days() {
    let c = load(&with_acme(
        "",
        "terms_of_service_agreed = true\nstate_dir = \"/s\"",
    ))
    .unwrap()
    .config;
    let acme = c.acme.unwrap();
    assert_eq!(
        acme.directory,
        "https://acme-v02.api.letsencrypt.org/directory"
    );
    assert_eq!(acme.challenge, Challenge::TlsAlpn01);
    assert_eq!(acme.renew_before_days, 30);
    assert!(acme.contact.is_empty());
}

#[test]
fn without_the_terms_nothing_is_ordered() {
    let message = "the CA requires agreeing to its terms of service before it issues anything: read them (Let's Encrypt: https://letsencrypt.org/repository/) and write `terms_of_service_agreed = true`";
    refused(&with_acme("", ""), "acme.terms_of_service_agreed", message);
    refused(
        &with_acme("", "terms_of_service_agreed = false"),
        "acme.terms_of_service_agreed",
        message,
    );
}

#[test]
fn http_01_needs_a_redirect_http_listener() {
    refused(
        &with_acme(
            "",
            "terms_of_service_agreed = true\nchallenge = \"http-01\"",
        ),
        "acme.challenge",
        "`http-01` is validated on port 80, but there is no listener for it: add `redirect_http = [\"0.0.0.0:80\", \"[::]:80\"]` under [listen], or use `tls-alpn-01`",
    );
    let ok = with_acme(
        "redirect_http = [\"0.0.0.0:80\"]",
        "terms_of_service_agreed = true\nchallenge = \"http-01\"",
    );
    assert_eq!(
        load(&ok).unwrap().config.acme.unwrap().challenge,
        Challenge::Http01
    );
}

#[test]
fn the_directory_must_be_https() {
    refused(
        &with_acme(
            "",
            "terms_of_service_agreed = true\ndirectory = \"http://ca.example/directory\"",
        ),
        "acme.directory",
        "`http://ca.example/directory` is not an https:// URL: ACME directories are served over HTTPS only, e.g. `https://acme-v02.api.letsencrypt.org/directory`",
    );
}

#[test]
fn other_mistakes_name_their_key() {
    refused(
        &with_acme("", "terms_of_service_agreed = true\nchallenge = \"dns-01\""),
        "acme.challenge",
        "`dns-01` is not a challenge wellknownd answers: write `tls-alpn-01` or `http-01` (DNS-01 needs your DNS provider: keep certbot for it)",
    );
    refused(
        &with_acme(
            "",
            "terms_of_service_agreed = true\ncontact = [\"admin@example.com\"]",
        ),
        "acme.contact[0]",
        "`admin@example.com` is not a mailto: URL: write e.g. `mailto:admin@example.com`",
    );
    refused(
        &with_acme("", "terms_of_service_agreed = true\nrenew_before_days = 0"),
        "acme.renew_before_days",
        "0 is outside 1..=365",
    );
    refused(
        &with_acme("redirect_http = [\"80\"]", "terms_of_service_agreed = true"),
        "listen.redirect_http[0]",
        "`80` is not a socket address: write e.g. `[::]:443` or `0.0.0.0:443`",
    );
    let e = load(&with_acme(
        "",
        "terms_of_service_agreed = true\nemail = \"x\"",
    ))
    .unwrap_err();
    assert!(e.contains("acme.email: unknown field `email`"), "{e}");
}

#[test]
fn without_acme_a_domain_still_needs_files() {
    let text = "[listen]\nhttps = [\"[::]:443\"]\n[[domain]]\nname = \"example.com\"\nserver = \"m.example.com:443\"\n";
    refused(
        text,
        "tls",
        "no certificate for domain[0] (`example.com`), which a TLS listener needs: add a top-level [tls], a [domain[0].tls] or [acme]; behind a TLS-terminating proxy, listen on plain `http` only (listen.http, or a socket named `http`)",
    );
}

/// `key_type`: ECDSA by default; `both` gives a domain its ECDSA file (where it always was,
/// so an upgrade keeps it) and an RSA one beside it, cheapest first, where the provider can
/// generate RSA keys (aws-lc-rs); on *ring* RSA is refused, saying why; anything else is refused.
#[test]
fn key_types_choose_the_files_a_domain_is_served_from() {
    let files = |key_type: &str| {
        let acme = format!("terms_of_service_agreed = true\nstate_dir = \"/s\"\n{key_type}");
        let c = load(&with_acme("", &acme)).unwrap().config;
        let tls = c.domains[0].tls.iter();
        tls.map(|p| (p.certificate.display().to_string(), p.key.clone()))
            .collect::<Vec<_>>()
    };
    let pair = |file: &str, key: &str| (file.to_owned(), key.to_owned());
    let ecdsa = pair("/s/certificates/example.com.pem", "acme example.com");
    let rsa = pair(
        "/s/certificates/rsa-2048/example.com.pem",
        "acme example.com rsa-2048",
    );
    assert_eq!(files(""), std::slice::from_ref(&ecdsa));
    assert_eq!(
        files("key_type = \"ecdsa-p256\""),
        std::slice::from_ref(&ecdsa)
    );
    if wellknownd_shared::GENERATES_RSA {
        assert_eq!(files("key_type = \"rsa-2048\""), std::slice::from_ref(&rsa));
        assert_eq!(files("key_type = \"both\""), [ecdsa, rsa]);
    } else {
        let message = "this wellknownd is built on *ring*, which cannot generate RSA keys: write `ecdsa-p256`, or build wellknownd on aws-lc-rs (`cargo build --release -p wellknownd --no-default-features --features aws-lc-rs`; README, \"Automatic certificates\")";
        for key_type in ["rsa-2048", "both"] {
            let acme = format!("terms_of_service_agreed = true\nkey_type = \"{key_type}\"");
            refused(&with_acme("", &acme), "acme.key_type", message);
        }
    }
    refused(
        &with_acme(
            "",
            "terms_of_service_agreed = true\nkey_type = \"rsa-4096\"",
        ),
        "acme.key_type",
        "`rsa-4096` is not a key type wellknownd orders: write `ecdsa-p256` (the default), `rsa-2048`, or `both`",
    );
}

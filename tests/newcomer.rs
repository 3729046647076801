//! The mistakes a newcomer makes first, each with the exact line that says what to write:
//! typos of keys and tables, empty strings, swapped values, certbot's `cert.pem` where
//! `fullchain.pem` was meant. No sockets: the loader (and, for certificates, the loading of
//! the files).

mod common;

use std::path::Path;

use common::Pki;
use wellknownd::build::Built;

const FILE: &str = "/etc/wellknownd/config.toml";
const HEAD: &str = "[listen]\nhttp = [\"127.0.0.1:8080\"]\n";

fn error(text: &str) -> String {
    wellknownd::config::parse(Path::new(FILE), text)
        .map(|_| ())
        .expect_err("config should be refused")
        .to_string()
}

#[test]
fn a_typo_in_a_table_or_key_names_the_one_meant() {
    let e = error(&format!("{HEAD}[[domian]]\nname = \"example.com\"\n"));
    assert!(
        e.starts_with(&format!(
            "{FILE}:3:3: domian: unknown field `domian`, expected one of "
        )) && e
            .lines()
            .next()
            .is_some_and(|l| l.ends_with("; did you mean `domain`?")),
        "{e}"
    );
    // With the typo taken out, what remains has no domain: said in the same run.
    assert!(e.ends_with("domain: no [[domain]] configured: add one with `name` and `server`"));
    let e = error(&format!(
        "{HEAD}[[domain]]\nname = \"example.com\"\n[domain.clinet]\nhomeserver = \"https://m.example.com\"\n"
    ));
    assert!(
        e.lines().any(|l| l.ends_with("; did you mean `client`?")),
        "{e}"
    );
    let e = error(&format!(
        "{HEAD}[[domain]]\nname = \"example.com\"\n[domain.client]\nhomeservr = \"https://m.example.com\"\n"
    ));
    assert!(
        e.lines()
            .any(|l| l.ends_with("; did you mean `homeserver`?")),
        "{e}"
    );
    // Nothing close: no guess.
    let e = error(&format!(
        "{HEAD}[[domain]]\nname = \"example.com\"\ncolour = 1\n"
    ));
    assert!(!e.contains("did you mean"), "{e}");
}

#[test]
fn an_empty_string_is_not_unset() {
    let domain = "[[domain]]\nname = \"example.com\"\n[domain.client]\nhomeserver = \"https://m.example.com\"\n";
    assert_eq!(
        error(&format!("{HEAD}{domain}identity_server = \"\"\n")),
        format!(
            "{FILE}: domain[0].client.identity_server: is empty: delete the line to leave it out"
        )
    );
    assert_eq!(
        error(&format!(
            "{HEAD}[[domain]]\nname = \"example.com\"\nserver = \"\"\n"
        )),
        format!("{FILE}: domain[0].server: is empty: delete the line to leave it out")
    );
}

#[test]
fn swapped_server_and_homeserver_are_named_as_swapped() {
    assert_eq!(
        error(&format!(
            "{HEAD}[[domain]]\nname = \"example.com\"\nserver = \"https://matrix.example.com\"\n\
             [domain.client]\nhomeserver = \"matrix.example.com:443\"\n"
        )),
        format!(
            "{FILE}: domain[0].server: `https://matrix.example.com` and client.homeserver \
             `matrix.example.com:443` look swapped: `server` takes a host and port (m.server), \
             `homeserver` the https:// URL clients use\n\
             {FILE}: domain[0].client.homeserver: `matrix.example.com:443` is not an absolute \
             URL: write `https://matrix.example.com:443`"
        )
    );
}

/// One run names every error, one line each, in the order of the file; `check` counts them.
#[test]
fn every_error_of_a_config_is_reported_in_one_run() {
    let text = format!(
        r#"cache_max_age_secs = 5
{HEAD}
[[domain]]
name = "example.com"
server = "matrix.example.com:99999"
[domain.element]
brand_color = "green"
[[domain]]
name = "example.org"
[domain.support]
[[domain.file]]
path = "/mautrix"
json = {{}}
[[domain]]
name = "example.net"
server = "m.example.net:443"
"#
    );
    let lines = [
        "cache_max_age_secs: 5 is outside 300..=172800: Synapse clamps the cache period to [5 min, 48 h], so 5 would not do what it says",
        "domain[0].server: port `99999` is not a number from 1 to 65535",
        "domain[0].element.brand_color: `green` is not a colour written `#rrggbb`, e.g. `#0dbd8b`",
        "domain[1].support: needs `page` or at least one [[contacts]]: an empty support document is invalid",
        "domain[1].file[0].path: `/mautrix` must be a path under /.well-known/, e.g. `/.well-known/matrix/mautrix`",
    ];
    let expected: Vec<String> = lines.iter().map(|l| format!("{FILE}: {l}")).collect();
    assert_eq!(error(&text), expected.join("\n"));
    let e = wellknownd::config::parse(Path::new(FILE), &text)
        .map(|_| ())
        .unwrap_err();
    assert_eq!(e.count(), 5);
}

#[test]
fn certbots_cert_pem_beside_its_fullchain_is_refused() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("leaf", &["example.com"]);
    std::fs::rename(&cert, pki.path("cert.pem")).unwrap();
    std::fs::rename(&key, pki.path("privkey.pem")).unwrap();
    let chain = format!(
        "{}{}",
        std::fs::read_to_string(pki.path("cert.pem")).unwrap(),
        pki.ca_pem
    );
    pki.write("fullchain.pem", &chain);
    let text = |cert: &str| {
        format!(
            "[listen]\nhttps = [\"127.0.0.1:0\"]\n[tls]\ncertificate = \"{cert}\"\nprivate_key = \"privkey.pem\"\n\
             [[domain]]\nname = \"example.com\"\nserver = \"matrix.example.com:443\"\n"
        )
    };
    let load = |cert: &str| {
        let path = pki.write("config.toml", &text(cert));
        let loaded = wellknownd::config::load(&path).unwrap();
        Built::new(loaded.config)
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    let dir = pki.dir.path().display();
    assert_eq!(
        load("cert.pem"),
        Err(format!(
            "{dir}/config.toml: tls.certificate: {dir}/cert.pem: is certbot's leaf certificate \
             alone, without its intermediate: clients will not complete the chain; name \
             {dir}/fullchain.pem instead"
        ))
    );
    assert_eq!(load("fullchain.pem"), Ok(()));
}

/// Every unknown key in one run too, each with its line (where the text holds the key once)
/// and a guess at the one meant; then the errors of what remains.
#[test]
fn every_unknown_key_is_named_in_one_run_with_its_line() {
    let text = format!(
        r#"{HEAD}colour = "blue"

[[domian]]
name = "x"

[[domain]]
name = "example.com"
server = "matrix.example.com:99999"
[domain.clinet]
homeserver = "https://m.example.com"
"#
    );
    let e = error(&text);
    let lines: Vec<&str> = e.lines().collect();
    assert_eq!(lines.len(), 4, "{e}");
    assert!(
        lines[0].starts_with(&format!(
            "{FILE}:3:1: listen.colour: unknown field `colour`"
        )),
        "{e}"
    );
    assert!(
        lines[1].starts_with(&format!("{FILE}:5:1: domian: unknown field `domian`")),
        "{e}"
    );
    assert!(lines[1].ends_with("; did you mean `domain`?"), "{e}");
    assert!(
        lines[2].starts_with(&format!(
            "{FILE}:11:9: domain[0].clinet: unknown field `clinet`"
        )),
        "{e}"
    );
    assert!(lines[2].ends_with("; did you mean `client`?"), "{e}");
    assert_eq!(
        lines[3],
        format!("{FILE}: domain[0].server: port `99999` is not a number from 1 to 65535")
    );
}

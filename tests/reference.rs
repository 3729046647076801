//! The references a user reads beside the code: config.example.toml documents every key the
//! config accepts, wellknownd.toml(5) is what man/toml5.rs makes of it today, and
//! wellknownd(8) and wellknownd-probe(1) describe every command and option
//! `wellknownd --help` lists.

use std::path::Path;

#[path = "../man/toml5.rs"]
mod toml5;

fn read(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The keys a config table accepts, as its type declares them: what serde's
/// `deny_unknown_fields` lists when it refuses an unknown one.
fn keys_of<T: serde::de::DeserializeOwned + std::fmt::Debug>() -> Vec<String> {
    let e = toml::from_str::<T>("zzz_not_a_key = 1")
        .unwrap_err()
        .to_string();
    let listed = e
        .split_once("expected one of ")
        .or_else(|| e.split_once("expected "))
        .unwrap_or_else(|| panic!("{e}"))
        .1;
    listed
        .split(',')
        .filter_map(|k| k.trim().strip_prefix('`')?.split('`').next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_example_config_is_valid_and_documents_every_key() {
    use wellknownd::config::file::*;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml");
    let loaded = wellknownd::config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.config.domains.len(), 2);
    let text = std::fs::read_to_string(&path).unwrap();
    let tables = [
        ("", keys_of::<ConfigFile>()),
        ("listen", keys_of::<ListenFile>()),
        ("listen.https[]", keys_of::<ListenerTable>()),
        ("limits", keys_of::<LimitsFile>()),
        ("health", keys_of::<HealthFile>()),
        ("metrics", keys_of::<MetricsFile>()),
        ("log", keys_of::<LogFile>()),
        ("tls", keys_of::<TlsFile>()),
        ("acme", keys_of::<AcmeFile>()),
        ("domain", keys_of::<DomainFile>()),
        ("domain.client", keys_of::<ClientFile>()),
        ("domain.support", keys_of::<SupportFile>()),
        ("domain.support.contacts", keys_of::<ContactFile>()),
        ("domain.policy_server", keys_of::<PolicyServerFile>()),
    ];
    assert!(tables.iter().map(|(_, k)| k.len()).sum::<usize>() > 40);
    for (table, keys) in tables {
        for key in keys {
            // Set (or commented out) as `key =`, or opened as a table `[...key]`.
            let documented = [format!("{key} ="), format!("[{key}]"), format!(".{key}]")]
                .iter()
                .any(|form| text.contains(form.as_str()));
            assert!(
                documented,
                "config.example.toml does not document {table}.{key}"
            );
        }
    }
}

#[test]
fn the_config_man_page_is_generated_from_the_example() {
    let page = toml5::page(&read("config.example.toml"));
    assert!(
        page == read("man/wellknownd.toml.5"),
        "man/wellknownd.toml.5 is not what config.example.toml makes: \
         run `cargo run --example man > man/wellknownd.toml.5`"
    );
    // Every key the example documents has an entry (or, for tables, a heading) of its own.
    for line in read("config.example.toml").lines() {
        let line = line.trim_start_matches('#').trim();
        let Some((key, _)) = line.split_once(" = ") else {
            continue;
        };
        if key.chars().all(|c| c.is_ascii_lowercase() || c == '_') && !line.contains(": ") {
            let entry = format!(".TP\n\\fB{}\\fR = ", key.replace('-', "\\-"));
            assert!(
                page.contains(&entry),
                "wellknownd.toml(5) has no entry for {key}"
            );
        }
    }
    for table in [
        "[listen]",
        "[limits]",
        "[acme]",
        "[tls]",
        "[[domain]]",
        "[domain.tls]",
    ] {
        assert!(
            page.contains(&format!(".SS {table}\n")),
            "no section {table}"
        );
    }
}

#[test]
fn the_daemon_man_page_describes_every_command_and_option() {
    let page = read("man/wellknownd.8");
    // Described under COMMANDS or OPTIONS, not merely named in the synopsis.
    let start = page.find(".SH COMMANDS\n").expect("a COMMANDS section");
    let end = page.find(".SH SIGNALS\n").expect("a SIGNALS section");
    let described = &page[start..end];
    let usage = wellknownd::cli::USAGE;
    let mut words: Vec<&str> = usage
        .lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix("wellknownd ")?
                .split_whitespace()
                .next()
        })
        .filter(|w| w.chars().all(|c| c.is_ascii_lowercase()))
        .collect();
    words.extend(
        usage
            .split(|c: char| c.is_whitespace() || "[]|,:()".contains(c))
            .filter(|w| w.starts_with('-') && w.len() > 1),
    );
    assert!(words.len() > 12, "{words:?}");
    for word in words {
        let roff = word.replace('-', "\\-");
        assert!(
            mentions(described, &roff),
            "wellknownd(8) does not describe {word} (from --help)"
        );
    }
    for section in ["COMMANDS", "OPTIONS", "SIGNALS", "EXIT STATUS", "FILES"] {
        assert!(page.contains(&format!(".SH {section}\n")), "no {section}");
    }
}

#[test]
fn the_probe_man_page_describes_every_probe_option() {
    let page = read("man/wellknownd-probe.1");
    let start = page.find(".SH OPTIONS\n").expect("an OPTIONS section");
    // The probe's usage, read from its source: the daemon's tests do not build the probe.
    let usage = include_str!("../probe/src/options.rs");
    let line = usage
        .lines()
        .find(|l| l.trim().starts_with("wellknownd probe "))
        .expect("a probe line in the usage");
    let options: Vec<&str> = line
        .split(|c: char| c.is_whitespace() || "[]".contains(c))
        .filter(|w| w.starts_with("--"))
        .collect();
    assert!(options.len() >= 4, "{options:?}");
    for option in options {
        assert!(
            mentions(&page[start..], &option.replace('-', "\\-")),
            "wellknownd-probe(1) does not describe {option}"
        );
    }
}

/// Whether `word` stands in `page` as a word of its own: not part of a longer option or
/// name (`\-t` inside `\-\-timeout` does not count).
fn mentions(page: &str, word: &str) -> bool {
    let part = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '\\';
    page.match_indices(word).any(|(at, _)| {
        let before = page[..at].chars().next_back().is_none_or(|c| !part(c));
        let after = page[at + word.len()..]
            .chars()
            .next()
            .is_none_or(|c| !part(c));
        before && after
    })
}

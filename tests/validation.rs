//! Every validation rule rejects with a message naming the file, the key and what to write;
//! warnings for what remote servers would do surprisingly. No sockets: this is the loader.

use std::path::Path;

use wellknownd::config::{self, Document};

const FILE: &str = "/etc/wellknownd/config.toml";

fn cfg(domain: &str) -> String {
    format!(
        "[listen]\nhttps = [\"127.0.0.1:443\"]\n[tls]\ncertificate = \"c.pem\"\nprivate_key = \"k.pem\"\n\
         [[domain]]\nname = \"example.com\"\n{domain}\n"
    )
}

fn load(text: &str) -> Result<config::Loaded, String> {
    config::parse(Path::new(FILE), text).map_err(|e| e.to_string())
}

fn err(text: &str) -> String {
    load(text).expect_err("config should be refused")
}

fn ok(text: &str) -> config::Loaded {
    load(text).unwrap_or_else(|e| panic!("config should load: {e}"))
}

/// Asserts the one-line error for `key` says `message`.
fn refused(text: &str, key: &str, message: &str) {
    let e = err(text);
    assert_eq!(e, format!("{FILE}: {key}: {message}"));
    assert!(!e.contains('\n'));
}

#[test]
fn the_issue_example_loads_as_written() {
    let text = r#"
[listen]
https = ["[::]:443"]        # TLS listeners; IPv4 and IPv6 socket addresses
http = []                  # plain-HTTP listeners, e.g. behind a load balancer that terminates TLS

[tls]
certificate = "/etc/letsencrypt/live/example.com/fullchain.pem"
private_key = "/etc/letsencrypt/live/example.com/privkey.pem"

[[domain]]
name = "example.com"
server = "matrix.example.com:443"

[domain.client]
homeserver = "https://matrix.example.com"
"#;
    let l = ok(text);
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    let d = &l.config.domains[0];
    assert_eq!(d.server(), Some("matrix.example.com:443"));
    assert_eq!(d.cache_max_age_secs, 14400);
    let https = wellknownd::config::ListenAddr {
        address: "[::]:443".parse().unwrap(),
        options: wellknownd::config::ListenOptions {
            proxy_protocol: false,
            per_ip_limit: true,
        },
    };
    assert_eq!(l.config.listen.https, [https]);
    assert_eq!(
        l.config.tls[0].certificate,
        Path::new("/etc/letsencrypt/live/example.com/fullchain.pem")
    );
    let client = d.document(Document::Client).unwrap().to_string();
    assert_eq!(
        client,
        r#"{"m.homeserver":{"base_url":"https://matrix.example.com"}}"#
    );
    assert!(d.document(Document::Support).is_none());
    let both = ok(&text.replace(
        r#"https = ["[::]:443"]"#,
        r#"https = ["0.0.0.0:443", "[::]:443"]"#,
    ));
    assert_eq!(both.config.listen.https.len(), 2);
}

#[test]
fn server_names_follow_the_spec_grammar_with_a_fix_in_each_message() {
    let key = "domain[0].server";
    let cases = [
        (
            "https://matrix.example.com",
            "`https://matrix.example.com` contains a scheme (`https://`): m.server is a host and port only; write `matrix.example.com:443`",
        ),
        (
            "https://matrix.example.com:8448/",
            "`https://matrix.example.com:8448/` contains a scheme (`https://`): m.server is a host and port only; write `matrix.example.com:8448`",
        ),
        (
            "matrix.example.com/",
            "`matrix.example.com/` contains a path or slash: m.server is a host and port only; write `matrix.example.com`",
        ),
        (
            "matrix.example.com:443/_matrix",
            "`matrix.example.com:443/_matrix` contains a path or slash: m.server is a host and port only; write `matrix.example.com:443`",
        ),
        (
            "2001:db8::1",
            "`2001:db8::1` looks like an IPv6 address without brackets: write `[2001:db8::1]` (with a port: `[2001:db8::1]:8448`)",
        ),
        (
            "matrix.example.com:0",
            "port `0` is not a number from 1 to 65535",
        ),
        (
            "matrix.example.com:65536",
            "port `65536` is not a number from 1 to 65535",
        ),
        (
            "matrix.example.com:",
            "port `` is not a number from 1 to 65535",
        ),
        (
            "matrix.example.com:+443",
            "port `+443` is not a number from 1 to 65535",
        ),
        (
            "matrix_example.com",
            "`matrix_example.com` contains `_`: host names may contain only letters, digits, `-` and `.`",
        ),
        (
            "matrix.example.com.:443",
            "`matrix.example.com.` ends with a dot: write `matrix.example.com`",
        ),
        (
            "matrix..example.com",
            "`matrix..example.com` is not a valid DNS name (empty or over-long label)",
        ),
        ("300.1.1.1:8448", "`300.1.1.1` is not a valid IPv4 address"),
        (
            "[2001:db8::zz]:8448",
            "`2001:db8::zz` in `[2001:db8::zz]:8448` is not an IPv6 address",
        ),
        (
            "[2001:db8::1]8448",
            "`[2001:db8::1]8448`: expected `:port` after `]`, found `8448`",
        ),
        ("", "is empty: delete the line to leave it out"),
    ];
    for (server, message) in cases {
        refused(&cfg(&format!("server = {server:?}")), key, message);
    }
    for good in [
        "matrix.example.com:443",
        "[2001:db8::1]:8448",
        "192.0.2.1:8448",
        "localhost:8448",
        "m.example.com:1",
    ] {
        let l = ok(&cfg(&format!("server = {good:?}")));
        assert_eq!(l.config.domains[0].server(), Some(good));
        assert!(l.warnings.is_empty());
    }
}

#[test]
fn a_server_without_port_is_a_warning_not_an_error() {
    let l = ok(&cfg(r#"server = "matrix.example.com""#));
    assert_eq!(
        l.warnings,
        [
            "domain[0].server: `matrix.example.com` has no port: remote servers will look up SRV records for it, then connect to port 8448; write `matrix.example.com:443` if it listens on 443"
        ]
    );
}

#[test]
fn urls_are_absolute_https_without_query_or_fragment() {
    let cases = [
        (
            "homeserver",
            "matrix.example.com",
            "`matrix.example.com` is not an absolute URL: write `https://matrix.example.com`",
        ),
        (
            "homeserver",
            "http://matrix.example.com",
            "`http://matrix.example.com` uses http://: clients need https:// (set `allow_http_urls = true` on this domain to allow it)",
        ),
        (
            "homeserver",
            "ftp://matrix.example.com",
            "`ftp://matrix.example.com` must start with `https://`",
        ),
        (
            "homeserver",
            "https://matrix.example.com/?x=1",
            "`https://matrix.example.com/?x=1` has a query or fragment: a base URL takes neither",
        ),
        (
            "homeserver",
            "https://matrix.example.com#top",
            "`https://matrix.example.com#top` has a query or fragment: a base URL takes neither",
        ),
        (
            "homeserver",
            "https://user@matrix.example.com",
            "`https://user@matrix.example.com` contains user info (`...@`): remove it",
        ),
        (
            "homeserver",
            "https://matrix example.com",
            "`https://matrix example.com` contains the whitespace or control character ' '",
        ),
        ("homeserver", "https://", "host of `https://`: is empty"),
        (
            "identity_server",
            "https://vector.im:99999",
            "host of `https://vector.im:99999`: port `99999` is not a number from 1 to 65535",
        ),
    ];
    for (key, url, message) in cases {
        let text = cfg(&format!(
            "[domain.client]\nhomeserver = \"https://ok.example.com\"\n{key} = {url:?}"
        ));
        let text = if key == "homeserver" {
            text.replacen("homeserver = \"https://ok.example.com\"\n", "", 1)
        } else {
            text
        };
        refused(&text, &format!("domain[0].client.{key}"), message);
    }
    refused(
        &cfg("[domain.support]\npage = \"example.com/help\""),
        "domain[0].support.page",
        "`example.com/help` is not an absolute URL: write `https://example.com/help`",
    );
    refused(
        &cfg("server = \"m.example.com:443\"\nredirect = \"www.example.com\""),
        "domain[0].redirect",
        "`www.example.com` is not an absolute URL: write `https://www.example.com`",
    );
    let l = ok(&cfg(
        "[domain.client]\nhomeserver = \"HTTPS://matrix.example.com/base/\"\nidentity_server = \"https://vector.im/\"",
    ));
    assert_eq!(
        l.config.domains[0]
            .document(Document::Client)
            .unwrap()
            .to_string(),
        r#"{"m.homeserver":{"base_url":"https://matrix.example.com/base"},"m.identity_server":{"base_url":"https://vector.im"}}"#
    );
    let l = ok(&cfg(
        "allow_http_urls = true\nredirect = \"http://www.example.com/\"\n[domain.client]\nhomeserver = \"http://matrix.example.com:8008\"",
    ));
    assert_eq!(
        l.config.domains[0].redirect.as_deref(),
        Some("http://www.example.com")
    );
}

#[test]
fn extra_client_keys_are_namespaced_and_cannot_redefine_the_built_ones() {
    let base =
        "[domain.client]\nhomeserver = \"https://matrix.example.com\"\n[domain.client.extra]\n";
    refused(
        &cfg(&format!("{base}tile_server = 1")),
        "domain[0].client.extra.\"tile_server\"",
        "`tile_server` is not namespaced: extra keys look like `org.example.tile_server`",
    );
    refused(
        &cfg(&format!(
            "{base}\"m.homeserver\" = {{ base_url = \"https://x.example.com\" }}"
        )),
        "domain[0].client.extra.\"m.homeserver\"",
        "`m.homeserver` is built from `homeserver`/`identity_server`; set it there",
    );
    refused(
        &cfg(&format!("{base}\"m.identity_server\" = {{}}")),
        "domain[0].client.extra.\"m.identity_server\"",
        "`m.identity_server` is built from `homeserver`/`identity_server`; set it there",
    );
    let e = err(&cfg(&format!(
        "{base}\"org.example.when\" = 1979-05-27T07:32:00Z"
    )));
    assert!(
        e.contains("TOML date-time 1979-05-27T07:32:00Z has no JSON form: quote it as a string"),
        "{e}"
    );
    let l = ok(&cfg(&format!(
        "{base}\"m.tile_server\" = {{ map_style_url = \"https://tiles.example.com/style.json\" }}\n\"org.matrix.msc3575.proxy\" = {{ url = \"https://sync.example.com\" }}\n\"im.vector.riot.jitsi\" = {{ preferredDomain = \"jitsi.example.com\" }}\n\"org.matrix.msc2965.authentication\" = {{ issuer = \"https://auth.example.com/\" }}\n\"org.example.ratio\" = 0.5"
    )));
    assert_eq!(l.warnings.len(), 3, "{:?}", l.warnings);
    assert!(l.warnings.iter().all(|w| w.contains("deprecated")));
    assert!(
        l.warnings[0].starts_with("domain[0].client.extra.\"im.vector.riot.jitsi\": deprecated")
    );
    let client = l.config.domains[0].document(Document::Client).unwrap();
    assert_eq!(
        client["m.tile_server"]["map_style_url"],
        "https://tiles.example.com/style.json"
    );
    assert_eq!(client["org.example.ratio"], 0.5);
}

#[test]
fn support_needs_contacts_or_a_page_and_well_formed_contacts() {
    refused(
        &cfg("[domain.support]"),
        "domain[0].support",
        "needs `page` or at least one [[contacts]]: an empty support document is invalid",
    );
    let contact = |body: &str| cfg(&format!("[[domain.support.contacts]]\n{body}"));
    refused(
        &contact("role = \"m.role.admin\""),
        "domain[0].support.contacts[0]",
        "needs `matrix_id` or `email_address`",
    );
    refused(
        &contact("role = \"admin\"\nemail_address = \"a@example.com\""),
        "domain[0].support.contacts[0].role",
        "`admin` is not `m.role.admin`, `m.role.security` or a namespaced role like `org.example.moderator`",
    );
    refused(
        &contact("role = \"m.boss\"\nemail_address = \"a@example.com\""),
        "domain[0].support.contacts[0].role",
        "`m.boss` is not `m.role.admin`, `m.role.security` or a namespaced role like `org.example.moderator`",
    );
    refused(
        &contact("role = \"m.role.admin\"\nmatrix_id = \"admin:example.com\""),
        "domain[0].support.contacts[0].matrix_id",
        "`admin:example.com` is not a Matrix user ID: write `@name:example.com`",
    );
    refused(
        &contact("role = \"m.role.admin\"\nmatrix_id = \"@:example.com\""),
        "domain[0].support.contacts[0].matrix_id",
        "`@:example.com` has an empty localpart",
    );
    refused(
        &contact("role = \"m.role.admin\"\nemail_address = \"admin\""),
        "domain[0].support.contacts[0].email_address",
        "`admin` is not an email address",
    );
    let e = err(&contact("matrix_id = \"@a:example.com\""));
    assert_eq!(
        e,
        format!("{FILE}:8:1: domain[0].support.contacts[0]: missing field `role`")
    );
    let l = ok(&contact(
        "role = \"org.example.moderator\"\nmatrix_id = \"@mod:example.com\"\n[[domain.support.contacts]]\nrole = \"m.role.security\"\nemail_address = \"security@example.com\"",
    ));
    assert_eq!(
        l.config.domains[0]
            .document(Document::Support)
            .unwrap()
            .to_string(),
        r#"{"contacts":[{"matrix_id":"@mod:example.com","role":"org.example.moderator"},{"email_address":"security@example.com","role":"m.role.security"}]}"#
    );
}

#[test]
fn policy_server_key_is_unpadded_base64_of_32_bytes() {
    let key = "domain[0].policy_server.ed25519";
    let policy = |k: &str| cfg(&format!("[domain.policy_server]\ned25519 = {k:?}"));
    let good = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
    refused(
        &policy(&format!("{good}=")),
        key,
        &format!("`{good}=` has `=` padding: Matrix uses unpadded base64, remove the `=`"),
    );
    refused(
        &policy("AAEC"),
        key,
        "decodes to 3 bytes; an ed25519 public key is 32",
    );
    refused(
        &policy("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh-"),
        key,
        "`AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh-` is not canonical base64 (non-zero trailing bits)",
    );
    let l = ok(&policy(good));
    assert_eq!(
        l.config.domains[0]
            .document(Document::PolicyServer)
            .unwrap()
            .to_string(),
        format!(r#"{{"public_keys":{{"ed25519":"{good}"}}}}"#)
    );
}

#[test]
fn unknown_keys_and_wrong_types_name_line_and_key() {
    let e = err(&cfg("server = \"m.example.com:443\"\nserverr = \"typo\""));
    assert_eq!(
        e,
        format!(
            "{FILE}:9:1: domain[0].serverr: unknown field `serverr`, expected one of `name`, `server`, `default`, `cache_max_age_secs`, `redirect`, `allow_http_urls`, `client`, `support`, `policy_server`, `element`, `file`, `tls`; did you mean `server`?"
        )
    );
    let e = err(&format!(
        "cache_max_age = 60\n{}",
        cfg("server = \"m.example.com:443\"")
    ));
    assert!(
        e.starts_with(&format!(
            "{FILE}:1:1: cache_max_age: unknown field `cache_max_age`, expected one of"
        )),
        "{e}"
    );
    let e = err(&cfg(
        "server = \"m.example.com:443\"\n[domain.client]\nhomeserver = 3",
    ));
    assert_eq!(
        e,
        format!(
            "{FILE}:10:14: domain[0].client.homeserver: invalid type: integer `3`, expected a string"
        )
    );
    let e = err(&cfg(
        "server = \"m.example.com:443\"\n[domain.client]\nhomeserver = \"https://m.example.com\"\nidentity = \"https://vector.im\"",
    ));
    assert_eq!(
        e,
        format!(
            "{FILE}:11:1: domain[0].client.identity: unknown field `identity`, expected one of `homeserver`, `identity_server`, `extra`"
        )
    );
    let e = err("[listen]\nhttps = \"[::]:443\"\n");
    assert_eq!(
        e,
        format!("{FILE}:2:9: listen.https: invalid type: string \"[::]:443\", expected a sequence")
    );
    let e = err("[[domain]\n");
    assert!(e.starts_with(&format!("{FILE}:1:10: ")), "{e}");
}

#[test]
fn cache_period_outside_what_synapse_honours_is_refused() {
    let why = |n: u64| {
        format!(
            "{n} is outside 300..=172800: Synapse clamps the cache period to [5 min, 48 h], so {n} would not do what it says"
        )
    };
    let server = "server = \"m.example.com:443\"";
    refused(
        &format!("cache_max_age_secs = 299\n{}", cfg(server)),
        "cache_max_age_secs",
        &why(299),
    );
    refused(
        &format!("cache_max_age_secs = 172801\n{}", cfg(server)),
        "cache_max_age_secs",
        &why(172801),
    );
    refused(
        &cfg(&format!("{server}\ncache_max_age_secs = 0")),
        "domain[0].cache_max_age_secs",
        &why(0),
    );
    let l = ok(&format!(
        "cache_max_age_secs = 300\n{}",
        cfg(&format!(
            "{server}\n[[domain]]\nname = \"b.example.com\"\n{server}\ncache_max_age_secs = 172800"
        ))
    ));
    assert_eq!(l.config.domains[0].cache_max_age_secs, 300);
    assert_eq!(l.config.domains[1].cache_max_age_secs, 172800);
}

#[test]
fn domains_are_unique_named_and_serve_something() {
    let server = "server = \"m.example.com:443\"";
    refused(
        &cfg(&format!(
            "{server}\n[[domain]]\nname = \"EXAMPLE.com\"\n{server}"
        )),
        "domain[1].name",
        "`example.com` is already domain[0]",
    );
    refused(
        &cfg(&format!(
            "{server}\ndefault = true\n[[domain]]\nname = \"b.example.com\"\n{server}\ndefault = true"
        )),
        "domain[1].default",
        "domain[0] is already the default; only one may be",
    );
    refused(
        &cfg(""),
        "domain[0]",
        "`example.com` configures no document: add `server`, [domain[0].client], [domain[0].support], [domain[0].policy_server], [domain[0].element] or [[domain[0].file]]",
    );
    refused(
        &cfg(server).replace("example.com\"", "https://example.com\""),
        "domain[0].name",
        "`https://example.com` must be a bare DNS name such as `example.com` (no scheme, port or path)",
    );
    refused(
        &cfg(server).replace("name = \"example.com\"", "name = \"192.0.2.1\""),
        "domain[0].name",
        "`192.0.2.1` is an IP address: servers never look up well-known documents for IP literals",
    );
    refused(
        "[listen]\nhttps = [\"[::]:443\"]\n",
        "domain",
        "no [[domain]] configured: add one with `name` and `server`",
    );
    let l = ok(&cfg(server).replace("name = \"example.com\"", "name = \"Example.COM\""));
    assert_eq!(l.config.domains[0].name, "example.com");
}

#[test]
fn listeners_and_certificates_are_required_where_needed() {
    let server = "server = \"m.example.com:443\"";
    refused(
        &cfg(server).replace("127.0.0.1:443", "443"),
        "listen.https[0]",
        "`443` is not a socket address: write e.g. `[::]:443` or `0.0.0.0:443`",
    );
    refused(
        &cfg(server).replace(
            "[\"127.0.0.1:443\"]",
            "[\"127.0.0.1:443\", \"127.0.0.1:443\"]",
        ),
        "listen",
        "127.0.0.1:443 is listed twice",
    );
    refused(
        &cfg(server).replace(
            "[tls]\ncertificate = \"c.pem\"\nprivate_key = \"k.pem\"\n",
            "",
        ),
        "tls",
        "no certificate for domain[0] (`example.com`), which a TLS listener needs: add a top-level [tls], a [domain[0].tls] or [acme]; behind a TLS-terminating proxy, listen on plain `http` only (listen.http, or a socket named `http`)",
    );
    let plain = ok(&format!(
        "[listen]\nhttp = [\"127.0.0.1:8080\"]\n[[domain]]\nname = \"example.com\"\n{server}"
    ));
    assert!(plain.config.tls.is_empty());
    let relative = ok(&cfg(server));
    assert_eq!(
        relative.config.tls[0].certificate,
        Path::new("/etc/wellknownd/c.pem")
    );
}

#[test]
fn limits_health_metrics_and_listener_tables() {
    let server = "server = \"m.example.com:443\"";
    let with = |top: &str| format!("{top}\n{}", cfg(server));
    refused(
        &with("[limits]\nmax_header_bytes = 4096"),
        "limits.max_header_bytes",
        "4096 is outside 8192..=1048576",
    );
    refused(
        &with("[limits]\nheader_timeout_secs = 0"),
        "limits.header_timeout_secs",
        "0 is outside 1..=3600",
    );
    refused(
        &with("[limits]\nmax_connections = 0"),
        "limits.max_connections",
        "0 is outside 1..=1000000",
    );
    refused(
        &with("[health]\npath = \"healthz\""),
        "health.path",
        "`healthz` must start with `/`",
    );
    refused(
        &with("[health]\npath = \"/.well-known/health\""),
        "health.path",
        "`/.well-known/health` must be outside /.well-known/, where the documents live",
    );
    refused(
        &with("[health]\npath = \"/h?x\""),
        "health.path",
        "`/h?x` must be a plain path, without query, fragment or spaces",
    );
    refused(
        &with("[metrics]\nlisten = \"9100\""),
        "metrics.listen",
        "`9100` is not a socket address: write e.g. `[::]:443` or `0.0.0.0:443`",
    );
    refused(
        &with("[metrics]\nlisten = \"127.0.0.1:443\""),
        "listen",
        "127.0.0.1:443 is listed twice",
    );
    let e = err(&cfg(server).replace(
        "https = [\"127.0.0.1:443\"]",
        "https = [{ address = \"127.0.0.1:443\", proxy = true }]",
    ));
    assert!(e.contains("listen.https[0]: an address such as \"[::]:443\", or a table such as { address = \"127.0.0.1:8443\", proxy_protocol = true }"), "{e}");
    let l = ok(&with("[limits]\nidle_timeout_secs = 5\n[health]\npath = \"\"\n[metrics]\nlisten = \"127.0.0.1:9100\"\n[log]\naccess = true")
        .replace("https = [\"127.0.0.1:443\"]", "https = [\"127.0.0.1:443\", { address = \"127.0.0.1:8443\", proxy_protocol = true }]"));
    let c = &l.config;
    assert_eq!(c.limits.idle_timeout, std::time::Duration::from_secs(5));
    assert_eq!(c.limits.max_header_bytes, 16384);
    assert_eq!(c.health.path, None);
    assert_eq!(c.listen.metrics, Some("127.0.0.1:9100".parse().unwrap()));
    assert!(c.access_log);
    assert_eq!(
        c.listen.describe(),
        [
            "https://127.0.0.1:443",
            "https://127.0.0.1:8443 (PROXY protocol)",
            "metrics http://127.0.0.1:9100"
        ]
    );
    assert_eq!(
        ok(&cfg(server)).config.health.path.as_deref(),
        Some("/healthz")
    );
}

//! The keys clients parse strictly, each rule with its exact one-line message: the client
//! document's known extras, base URLs, element.json, the support document's newer roles and
//! extras, and the policy server's alphabets. (tests/ruma.rs checks the client rules against
//! the parser Element X uses.) No sockets: this is the loader.

use std::path::Path;

use wellknownd::config::{self, Document};

const FILE: &str = "/etc/wellknownd/config.toml";

/// A one-domain config with `tables` after `[[domain]]`.
pub fn config(tables: &str) -> String {
    format!(
        "[listen]\nhttp = [\"127.0.0.1:8080\"]\n[[domain]]\nname = \"example.com\"\n\
         [domain.client]\nhomeserver = \"https://matrix.example.com\"\n{tables}\n"
    )
}

fn extra(keys: &str) -> String {
    config(&format!("[domain.client.extra]\n{keys}"))
}

fn load(text: &str) -> Result<config::Loaded, String> {
    config::parse(Path::new(FILE), text).map_err(|e| e.to_string())
}

fn refused(text: &str, key: &str, message: &str) {
    let e = load(text).expect_err("config should be refused");
    assert_eq!(e, format!("{FILE}: {key}: {message}"));
}

/// Loads, and returns the one warning there is.
fn warned(text: &str) -> String {
    let l = load(text).unwrap_or_else(|e| panic!("config should load: {e}"));
    assert_eq!(l.warnings.len(), 1, "{:?}", l.warnings);
    l.warnings[0].clone()
}

const FOCI: &str = "domain[0].client.extra.\"org.matrix.msc4143.rtc_foci\"";

#[test]
fn rtc_foci_need_a_string_type_and_livekit_an_https_url() {
    refused(
        &extra(
            r#""org.matrix.msc4143.rtc_foci" = [{ livekit_service_url = "https://lk.example.com" }]"#,
        ),
        &format!("{FOCI}[0]"),
        "missing `type` (a string such as \"livekit\"): Element X rejects the whole client document without it",
    );
    refused(
        &extra(r#""org.matrix.msc4143.rtc_foci" = [{ type = 1 }]"#),
        &format!("{FOCI}[0].type"),
        "must be a string, not the number 1",
    );
    refused(
        &extra(r#""org.matrix.msc4143.rtc_foci" = [{ type = "livekit" }]"#),
        &format!("{FOCI}[0]"),
        "missing `livekit_service_url`: readers reject the table without it",
    );
    refused(
        &extra(
            r#""org.matrix.msc4143.rtc_foci" = [{ type = "livekit", livekit_service_url = "http://lk.example.com" }]"#,
        ),
        &format!("{FOCI}[0].livekit_service_url"),
        "`http://lk.example.com` uses http://: clients need https:// (set `allow_http_urls = true` on this domain to allow it)",
    );
    refused(
        &extra(r#""m.rtc_foci" = { type = "livekit" }"#),
        "domain[0].client.extra.\"m.rtc_foci\"",
        "must be a list of tables, e.g. [{ type = \"livekit\", livekit_service_url = \"https://...\" }], not a table",
    );
    // Another type is the reader's business: ruma keeps it as a custom transport.
    assert!(
        load(&extra(
            r#""m.rtc_foci" = [{ type = "org.example.mesh", anything = 1 }]"#
        ))
        .is_ok()
    );
}

#[test]
fn tile_server_e2ee_and_jitsi_have_their_shapes() {
    refused(
        &extra(r#""m.tile_server" = { url = "https://tiles.example.com" }"#),
        "domain[0].client.extra.\"m.tile_server\"",
        "missing `map_style_url`: readers reject the table without it",
    );
    refused(
        &extra(r#""io.element.e2ee" = { default = "yes" }"#),
        "domain[0].client.extra.\"io.element.e2ee\".default",
        "must be true or false, not the string \"yes\"",
    );
    refused(
        &extra(r#""io.element.jitsi" = { preferredDomain = 3 }"#),
        "domain[0].client.extra.\"io.element.jitsi\".preferredDomain",
        "must be a string, not the number 3",
    );
}

#[test]
fn a_stable_name_with_its_unstable_alias_is_refused() {
    let url = r#"{ map_style_url = "https://tiles.example.com/style.json" }"#;
    refused(
        &extra(&format!(
            "\"m.tile_server\" = {url}\n\"org.matrix.msc3488.tile_server\" = {url}"
        )),
        "domain[0].client.extra.\"m.tile_server\"",
        "set together with \"org.matrix.msc3488.tile_server\": matrix-rust-sdk reads both names as one field and rejects the document (\"duplicate field\"); keep only \"m.tile_server\"",
    );
    let foci = r#"[{ type = "livekit", livekit_service_url = "https://lk.example.com" }]"#;
    refused(
        &extra(&format!(
            "\"m.rtc_foci\" = {foci}\n\"org.matrix.msc4143.rtc_foci\" = {foci}"
        )),
        "domain[0].client.extra.\"m.rtc_foci\"",
        "set together with \"org.matrix.msc4143.rtc_foci\": matrix-rust-sdk reads both names as one field and rejects the document (\"duplicate field\"); keep only \"m.rtc_foci\"",
    );
}

#[test]
fn riot_names_warn_that_element_web_still_reads_them() {
    assert_eq!(
        warned(&extra(
            r#""im.vector.riot.jitsi" = { preferredDomain = "jitsi.example.com" }"#
        )),
        "domain[0].client.extra.\"im.vector.riot.jitsi\": deprecated: a Riot-era name: Element Web \
         still reads `im.vector.riot.jitsi` and `im.vector.riot.e2ee` as fallbacks, Element X only \
         the `io.element.` names; serve `io.element.` (both if you must support old Element Web)"
    );
}

#[test]
fn base_urls_must_not_end_in_matrix_and_port_8448_warns() {
    let hs = |url: &str| config("").replace("https://matrix.example.com", url);
    refused(
        &hs("https://matrix.example.com/_matrix/"),
        "domain[0].client.homeserver",
        "`https://matrix.example.com/_matrix` ends in /_matrix: clients append /_matrix/client/... themselves; write `https://matrix.example.com`",
    );
    refused(
        &config("identity_server = \"https://vector.im/_matrix\""),
        "domain[0].client.identity_server",
        "`https://vector.im/_matrix` ends in /_matrix: clients append /_matrix/client/... themselves; write `https://vector.im`",
    );
    assert_eq!(
        warned(&hs("https://matrix.example.com:8448")),
        "domain[0].client.homeserver: `https://matrix.example.com:8448` uses port 8448, usually \
         federation's port alone: clients reach the client-server API where Synapse's client \
         listener is, usually https on 443"
    );
}

#[test]
fn element_json_checks_the_keys_element_x_reads_and_warns_on_others() {
    let element = |keys: &str| config(&format!("[domain.element]\n{keys}"));
    refused(
        &element("rageshake_url = \"rageshake.example.com\""),
        "domain[0].element.rageshake_url",
        "`rageshake.example.com` is not an absolute URL: write `https://rageshake.example.com`",
    );
    refused(
        &element("brand_color = \"green\""),
        "domain[0].element.brand_color",
        "`green` is not a colour written `#rrggbb`, e.g. `#0dbd8b`",
    );
    refused(
        &element("force_disable_e2ee = \"false\""),
        "domain[0].element.force_disable_e2ee",
        "must be true or false, not the string \"false\"",
    );
    refused(
        &element("custom_recovery_passphrase = { min_character_count = 0 }"),
        "domain[0].element.custom_recovery_passphrase.min_character_count",
        "must be a whole number above 0, not the number 0",
    );
    refused(
        &element("call = { widget_url = \"ftp://call.example.com\" }"),
        "domain[0].element.call.widget_url",
        "`ftp://call.example.com` must start with `https://`",
    );
    let text =
        element("brand_color = \"#0DBD8B\"\nregistration_helper = \"https://r.example.com\"");
    assert!(
        warned(&text).starts_with(
            "domain[0].element.registration_helper: not a key Element X reads (registration_helper_url, "
        )
    );
    let l = load(&text).unwrap();
    assert_eq!(
        l.config.domains[0]
            .document(Document::Element)
            .unwrap()
            .to_string(),
        r##"{"brand_color":"#0DBD8B","registration_helper":"https://r.example.com"}"##
    );
}

#[test]
fn support_roles_beyond_the_spec_warn_and_namespaced_extras_are_served() {
    let text = config(
        "[domain.support]\n[[domain.support.contacts]]\nrole = \"m.role.moderator\"\n\
         email_address = \"mod@example.com\"\nextra = { \"dev.zirco.msc4439.pgp_key\" = \"https://example.com/mod.asc\" }\n\
         [domain.support.extra]\n\"org.example.hours\" = \"9-17\"\n",
    );
    assert_eq!(
        warned(&text),
        "domain[0].support.contacts[0].role: `m.role.moderator` is not a role of the spec yet \
         (m.role.admin, m.role.security): clients that do not know it may show it as unknown"
    );
    let l = load(&text).unwrap();
    assert_eq!(
        l.config.domains[0]
            .document(Document::Support)
            .unwrap()
            .to_string(),
        r#"{"contacts":[{"dev.zirco.msc4439.pgp_key":"https://example.com/mod.asc","email_address":"mod@example.com","role":"m.role.moderator"}],"org.example.hours":"9-17"}"#
    );
    refused(
        &text.replace("\"org.example.hours\"", "hours"),
        "domain[0].support.extra.\"hours\"",
        "`hours` is not namespaced: extra keys look like `org.example.hours`",
    );
    refused(
        &text.replace("m.role.moderator", "m.moderator"),
        "domain[0].support.contacts[0].role",
        "`m.moderator` is not `m.role.admin`, `m.role.security` or a namespaced role like `org.example.moderator`",
    );
}

#[test]
fn a_url_safe_policy_server_key_is_served_with_a_warning_naming_the_standard_form() {
    // 32 bytes whose standard encoding has `+` and `/`.
    let url_safe = "-_8AAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0";
    let text = config(&format!("[domain.policy_server]\ned25519 = \"{url_safe}\""));
    assert_eq!(
        warned(&text),
        format!(
            "domain[0].policy_server.ed25519: `{url_safe}` uses the URL-safe alphabet (`-`, `_`), as \
             the spec's example does; some consumers expect standard base64, which is \
             `+/8AAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0`"
        )
    );
    let l = load(&text).unwrap();
    assert_eq!(
        l.config.domains[0]
            .document(Document::PolicyServer)
            .unwrap()
            .to_string(),
        format!(r#"{{"public_keys":{{"ed25519":"{url_safe}"}}}}"#)
    );
    assert_eq!(
        Document::from_path("/.well-known/matrix/org.matrix.msc4284.policy_server"),
        Some(Document::PolicyServer)
    );
}

#[test]
fn extra_files_live_under_well_known_on_paths_of_their_own() {
    let file = |path: &str| {
        config(&format!(
            "[[domain.file]]\npath = \"{path}\"\njson = {{ \"fi.mau.bridges\" = [] }}"
        ))
    };
    let l = load(&file("/.well-known/matrix/mautrix")).unwrap();
    assert_eq!(
        l.config.domains[0].files,
        [(
            "/.well-known/matrix/mautrix".to_owned(),
            serde_json::json!({ "fi.mau.bridges": [] })
        )]
    );
    let under = "must be a path under /.well-known/, e.g. `/.well-known/matrix/mautrix`";
    refused(
        &file("/mautrix"),
        "domain[0].file[0].path",
        &format!("`/mautrix` {under}"),
    );
    refused(
        &file("/.well-known/matrix/client"),
        "domain[0].file[0].path",
        "`/.well-known/matrix/client` is the client document's path: configure it with `domain[0].client` instead",
    );
    refused(
        &file("/.well-known/matrix/org.matrix.msc4284.policy_server"),
        "domain[0].file[0].path",
        "`/.well-known/matrix/org.matrix.msc4284.policy_server` is the policy_server document's path: configure it with `domain[0].policy_server` instead",
    );
    refused(
        &file("/.well-known/matrix/../x"),
        "domain[0].file[0].path",
        "`/.well-known/matrix/../x` must name a file: no trailing `/`, no `.` or `..` segments",
    );
    let twice = format!(
        "{}\n[[domain.file]]\npath = \"/.well-known/matrix/mautrix\"\njson = {{}}",
        file("/.well-known/matrix/mautrix")
    );
    refused(
        &twice,
        "domain[0].file[1].path",
        "`/.well-known/matrix/mautrix` is already domain[0].file[0]",
    );
}

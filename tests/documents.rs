//! Every path x method over HTTP/1.1+TLS, HTTP/2+TLS and plain HTTP, with exact status,
//! headers and body, as Synapse, Element and browsers see them.

mod common;

use common::{COMMON, Pki, TestServer, Via, call, send};

const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

fn config() -> String {
    format!(
        r##"
[listen]
https = ["127.0.0.1:0"]
http = ["127.0.0.1:0"]

[tls]
certificate = "example.crt"
private_key = "example.key"

[[domain]]
name = "example.com"
server = "matrix.example.com:443"
redirect = "https://www.example.com"

[domain.client]
homeserver = "https://matrix.example.com/"
identity_server = "https://vector.im"

[domain.client.extra]
"org.matrix.msc4143.rtc_foci" = [{{ type = "livekit", livekit_service_url = "https://livekit.example.com" }}]
"io.element.e2ee" = {{ default = true }}

[domain.support]
page = "https://example.com/support"

[[domain.support.contacts]]
role = "m.role.admin"
matrix_id = "@admin:example.com"
email_address = "admin@example.com"

[domain.policy_server]
ed25519 = "{KEY}"

[[domain.file]]
path = "/.well-known/matrix/mautrix"
json = {{ "fi.mau.bridges" = ["https://bridges.example.com"] }}

[domain.element]
brand_color = "#0dbd8b"
registration_helper_url = "https://element.example.com/register"
custom_recovery_passphrase = {{ min_character_count = 12 }}
"##
    )
}

const SERVER: &str = r#"{"m.server":"matrix.example.com:443"}"#;
const CLIENT: &str = r#"{"io.element.e2ee":{"default":true},"m.homeserver":{"base_url":"https://matrix.example.com"},"m.identity_server":{"base_url":"https://vector.im"},"org.matrix.msc4143.rtc_foci":[{"livekit_service_url":"https://livekit.example.com","type":"livekit"}]}"#;
const SUPPORT: &str = r#"{"contacts":[{"email_address":"admin@example.com","matrix_id":"@admin:example.com","role":"m.role.admin"}],"support_page":"https://example.com/support"}"#;
const ELEMENT: &str = r##"{"brand_color":"#0dbd8b","custom_recovery_passphrase":{"min_character_count":12},"registration_helper_url":"https://element.example.com/register"}"##;
const MAUTRIX: &str = r#"{"fi.mau.bridges":["https://bridges.example.com"]}"#;
const NOT_FOUND: &str = r#"{"errcode":"M_UNRECOGNIZED","error":"Unrecognized request"}"#;
const NOT_ALLOWED: &str = r#"{"errcode":"M_UNRECOGNIZED","error":"Unrecognized request method"}"#;

fn with_common(extra: &[(&'static str, String)]) -> Vec<(&'static str, String)> {
    let mut h: Vec<(&str, String)> = COMMON.iter().map(|(k, v)| (*k, v.to_string())).collect();
    h.extend(extra.iter().cloned());
    h
}

fn assert_reply(r: &common::Reply, status: u16, headers: &[(&'static str, String)], body: &str) {
    assert_eq!(r.status, status, "status; body {}", r.text());
    let h = with_common(headers);
    let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
    r.assert_headers(&h);
    assert_eq!(r.text(), body);
}

fn json_headers(len: usize, cache: bool) -> Vec<(&'static str, String)> {
    let mut h = vec![
        ("content-type", "application/json".to_string()),
        ("content-length", len.to_string()),
    ];
    if cache {
        h.push(("cache-control", "public, max-age=14400".into()));
    }
    h
}

async fn each_protocol(check: impl AsyncFn(&Pki, std::net::SocketAddr, Via)) {
    let pki = Pki::new();
    pki.leaf("example", &["example.com"]);
    let server = TestServer::start(&pki, &config()).await;
    for via in [Via::H1, Via::H2, Via::Plain] {
        let addr = if via == Via::Plain {
            server.plain()
        } else {
            server.tls()
        };
        check(&pki, addr, via).await;
    }
    server.stop().await;
}

#[tokio::test]
async fn documents_answer_get_and_head_with_every_header() {
    let policy = format!(r#"{{"public_keys":{{"ed25519":"{KEY}"}}}}"#);
    let docs = [
        ("/.well-known/matrix/server", SERVER),
        ("/.well-known/matrix/client", CLIENT),
        ("/.well-known/matrix/support", SUPPORT),
        ("/.well-known/matrix/policy_server", policy.as_str()),
        (
            "/.well-known/matrix/org.matrix.msc4284.policy_server",
            policy.as_str(),
        ),
        ("/.well-known/element/element.json", ELEMENT),
        ("/.well-known/matrix/mautrix", MAUTRIX),
    ];
    each_protocol(async |pki, addr, via| {
        for (path, body) in docs {
            let r = call(pki, addr, via, "GET", "example.com", path).await;
            assert_reply(&r, 200, &json_headers(body.len(), true), body);
            assert_eq!(
                r.version,
                if via == Via::H2 {
                    http::Version::HTTP_2
                } else {
                    http::Version::HTTP_11
                }
            );
            let head = call(pki, addr, via, "HEAD", "example.com", path).await;
            assert_reply(&head, 200, &json_headers(body.len(), true), "");
            let query = call(
                pki,
                addr,
                via,
                "GET",
                "example.com",
                &format!("{path}?cachebust=1"),
            )
            .await;
            assert_reply(&query, 200, &json_headers(body.len(), true), body);
        }
    })
    .await;
}

#[tokio::test]
async fn preflight_answers_204_on_any_path() {
    each_protocol(async |pki, addr, via| {
        for path in [
            "/.well-known/matrix/client",
            "/.well-known/matrix/nothing",
            "/elsewhere",
        ] {
            let req = common::request(
                "OPTIONS",
                "example.com",
                path,
                &[
                    ("origin", "https://app.element.io"),
                    ("access-control-request-headers", "authorization"),
                ],
            );
            let r = send(pki, addr, via, "example.com", req).await;
            assert_reply(&r, 204, &[("access-control-max-age", "7200".into())], "");
        }
    })
    .await;
}

#[tokio::test]
async fn other_methods_on_documents_get_405_with_allow() {
    each_protocol(async |pki, addr, via| {
        for method in ["POST", "PUT", "DELETE", "PATCH"] {
            for path in ["/.well-known/matrix/client", "/.well-known/matrix/mautrix"] {
                let r = call(pki, addr, via, method, "example.com", path).await;
                let mut h = json_headers(NOT_ALLOWED.len(), false);
                h.push(("allow", "GET, HEAD, OPTIONS".into()));
                assert_reply(&r, 405, &h, NOT_ALLOWED);
            }
        }
    })
    .await;
}

#[tokio::test]
async fn unknown_paths_get_404_with_cors_and_are_never_redirected_under_well_known() {
    each_protocol(async |pki, addr, via| {
        for path in [
            "/.well-known/matrix/client/",
            "/.well-known/matrix/",
            "/.well-known/matrix/Server",
            "/.well-known/matrix/server/x",
            "/.well-known/matrix/%73erver",
            "/.well-known/element/",
            "/.well-known/element/config.json",
            "/.well-known/element/element.json/",
        ] {
            let r = call(pki, addr, via, "GET", "example.com", path).await;
            assert_reply(&r, 404, &json_headers(NOT_FOUND.len(), false), NOT_FOUND);
            let head = call(pki, addr, via, "HEAD", "example.com", path).await;
            assert_reply(&head, 404, &json_headers(NOT_FOUND.len(), false), "");
            let post = call(pki, addr, via, "POST", "example.com", path).await;
            assert_reply(&post, 404, &json_headers(NOT_FOUND.len(), false), NOT_FOUND);
        }
    })
    .await;
}

#[tokio::test]
async fn other_paths_redirect_to_the_website_keeping_path_and_query() {
    each_protocol(async |pki, addr, via| {
        for (path, location) in [
            ("/", "https://www.example.com/"),
            (
                "/about/team?lang=en",
                "https://www.example.com/about/team?lang=en",
            ),
            (
                "/.well-known/security.txt",
                "https://www.example.com/.well-known/security.txt",
            ),
        ] {
            for method in ["GET", "HEAD", "POST"] {
                let r = call(pki, addr, via, method, "example.com", path).await;
                assert_reply(
                    &r,
                    308,
                    &[
                        ("content-length", "0".into()),
                        ("location", location.into()),
                    ],
                    "",
                );
            }
        }
    })
    .await;
}

#[tokio::test]
async fn unconfigured_documents_and_paths_answer_404_without_redirect() {
    let pki = Pki::new();
    pki.leaf("example", &["example.com"]);
    let config = r#"
        cache_max_age_secs = 3600
        [listen]
        https = ["127.0.0.1:0"]
        [tls]
        certificate = "example.crt"
        private_key = "example.key"
        [[domain]]
        name = "example.com"
        server = "matrix.example.com:8448"
    "#;
    let server = TestServer::start(&pki, config).await;
    let r = call(
        &pki,
        server.tls(),
        Via::H2,
        "GET",
        "example.com",
        "/.well-known/matrix/server",
    )
    .await;
    let body = r#"{"m.server":"matrix.example.com:8448"}"#;
    let mut h = json_headers(body.len(), false);
    h.push(("cache-control", "public, max-age=3600".into()));
    assert_reply(&r, 200, &h, body);
    for path in [
        "/.well-known/matrix/client",
        "/.well-known/matrix/support",
        "/.well-known/matrix/policy_server",
        "/",
    ] {
        for method in ["GET", "POST"] {
            let r = call(&pki, server.tls(), Via::H1, method, "example.com", path).await;
            assert_reply(&r, 404, &json_headers(NOT_FOUND.len(), false), NOT_FOUND);
        }
    }
    server.stop().await;
}

//! The routing function on its own, without sockets: `route(&State, &Request) -> Response`.

use std::path::Path;

use http::{Request, StatusCode};
use http_body_util::BodyExt;
use wellknownd::http::route;
use wellknownd::state::State;

fn state(text: &str) -> State {
    let loaded = wellknownd::config::parse(Path::new("test.toml"), text).unwrap();
    State::without_certs(loaded.config)
}

const TWO: &str = r#"
[listen]
http = ["127.0.0.1:0"]
[[domain]]
name = "one.test"
server = "matrix.one.test:443"
[[domain]]
name = "two.test"
server = "matrix.two.test:443"
"#;

async fn body(r: http::Response<wellknownd::http::Body>) -> String {
    let bytes = r.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[tokio::test]
async fn authority_wins_over_host_and_missing_host_is_unknown() {
    let s = state(TWO);
    // HTTP/2 `:authority` (or an absolute-form HTTP/1.1 target) decides, not a stray Host.
    let req = Request::get("https://two.test/.well-known/matrix/server")
        .header("host", "one.test")
        .body(())
        .unwrap();
    assert_eq!(
        body(route(&s, &req)).await,
        r#"{"m.server":"matrix.two.test:443"}"#
    );
    let req = Request::get("/.well-known/matrix/server").body(()).unwrap();
    let r = route(&s, &req);
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    let req = Request::get("/.well-known/matrix/server")
        .header("host", "[::1]:8448")
        .body(())
        .unwrap();
    assert_eq!(route(&s, &req).status(), StatusCode::NOT_FOUND);
    let req = Request::get("/.well-known/matrix/server")
        .header("host", "one.test")
        .body(())
        .unwrap();
    assert_eq!(
        body(route(&s, &req)).await,
        r#"{"m.server":"matrix.one.test:443"}"#
    );
}

#[tokio::test]
async fn head_keeps_content_length_and_drops_the_body() {
    let s = state(TWO);
    let req = Request::head("/.well-known/matrix/server")
        .header("host", "one.test")
        .body(())
        .unwrap();
    let r = route(&s, &req);
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()["content-length"],
        r#"{"m.server":"matrix.one.test:443"}"#.len().to_string()
    );
    assert_eq!(body(r).await, "");
}

#[test]
fn the_example_config_is_valid_and_documents_every_key() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml");
    let loaded = wellknownd::config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.config.domains.len(), 2);
    let text = std::fs::read_to_string(&path).unwrap();
    for key in [
        "cache_max_age_secs",
        "certificate_check_secs",
        "proxy_protocol",
        "[limits]",
        "handshake_timeout_secs",
        "header_timeout_secs",
        "idle_timeout_secs",
        "max_header_bytes",
        "max_connections",
        "[health]",
        "path",
        "shutdown_delay_secs",
        "[metrics]",
        "listen",
        "[log]",
        "access",
        "shutdown_grace_secs",
        "[listen]",
        "https",
        "http",
        "[tls]",
        "certificate",
        "private_key",
        "[[domain]]",
        "name",
        "server",
        "default",
        "redirect",
        "allow_http_urls",
        "[domain.client]",
        "homeserver",
        "identity_server",
        "[domain.client.extra]",
        "[domain.support]",
        "page",
        "[[domain.support.contacts]]",
        "role",
        "matrix_id",
        "email_address",
        "[domain.policy_server]",
        "ed25519",
        "[domain.tls]",
    ] {
        assert!(
            text.contains(key),
            "config.example.toml does not mention {key}"
        );
    }
}

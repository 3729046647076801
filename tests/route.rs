//! The routing function on its own, without sockets: `route(&Router, &Request) -> Response`.

use std::path::Path;

use http::{Request, StatusCode, Version};
use http_body_util::BodyExt;
use wellknownd::http::Router;
use wellknownd::http::route;

fn state(text: &str) -> Router {
    let loaded = wellknownd::config::parse(Path::new("test.toml"), text).unwrap();
    Router::new(&loaded.config)
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
async fn authority_wins_over_host_and_an_unknown_host_gets_404() {
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
    // HTTP/1.0 may leave Host out: with two domains and no default, no domain answers.
    let req = Request::get("/.well-known/matrix/server")
        .version(Version::HTTP_10)
        .body(())
        .unwrap();
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

/// The JSON error body of a 400, with CORS (what a browser gets instead of a network error).
async fn bad_request(r: http::Response<wellknownd::http::Body>) -> String {
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    assert_eq!(r.headers()["content-type"], "application/json");
    let text = body(r).await;
    assert!(
        text.starts_with(r#"{"errcode":"M_UNRECOGNIZED","error":"#),
        "{text}"
    );
    text
}

const ONE: &str = r#"
[listen]
http = ["127.0.0.1:0"]
[[domain]]
name = "one.test"
server = "matrix.one.test:443"
redirect = "https://www.one.test"
"#;

/// RFC 9112 §3.2: HTTP/1.1 needs exactly one Host, and it must be a host; the single domain
/// does not answer for a request that breaks that, nor does the default.
#[tokio::test]
async fn host_rules_of_rfc_9112() {
    for config in [TWO, ONE] {
        let s = state(config);
        let get = || Request::get("/.well-known/matrix/server");
        let missing = get().body(()).unwrap();
        assert!(
            bad_request(route(&s, &missing))
                .await
                .contains("needs a Host")
        );
        let two = get()
            .header("host", "one.test")
            .header("host", "two.test")
            .body(())
            .unwrap();
        assert!(
            bad_request(route(&s, &two))
                .await
                .contains("More than one Host")
        );
        for bad in ["one.test/x", "", "a b", "one.test@evil"] {
            let req = get().header("host", bad).body(()).unwrap();
            let text = bad_request(route(&s, &req)).await;
            assert!(text.contains("not a host"), "{bad:?}: {text}");
        }
        let preflight = Request::options("/.well-known/matrix/client")
            .body(())
            .unwrap();
        bad_request(route(&s, &preflight)).await;
        // HTTP/2 carries the host in :authority, and HTTP/1.0 may omit it.
        for version in [Version::HTTP_2, Version::HTTP_10] {
            let req = Request::get("https://one.test/.well-known/matrix/server")
                .version(version)
                .body(())
                .unwrap();
            assert_eq!(route(&s, &req).status(), StatusCode::OK);
        }
    }
}

/// What is not a path has no document and no redirect; a path that is not ASCII is
/// percent-encoded in `Location`, never copied raw.
#[tokio::test]
async fn targets_that_are_not_paths_and_raw_bytes_in_redirects() {
    let s = state(ONE);
    let star = Request::get("*")
        .header("host", "one.test")
        .body(())
        .unwrap();
    assert!(bad_request(route(&s, &star)).await.contains("not a path"));
    let star = Request::options("*")
        .header("host", "one.test")
        .body(())
        .unwrap();
    assert_eq!(route(&s, &star).status(), StatusCode::NO_CONTENT);
    let raw = "/caf\u{e9}?q=\u{fc}".as_bytes();
    let uri = http::Uri::from_maybe_shared(bytes::Bytes::from_static(raw)).unwrap();
    let req = Request::get(uri)
        .header("host", "one.test")
        .body(())
        .unwrap();
    let r = route(&s, &req);
    assert_eq!(r.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(
        r.headers()["location"],
        "https://www.one.test/caf%C3%A9?q=%C3%BC"
    );
    let req = Request::get("/a/b?c=%20d")
        .header("host", "one.test")
        .body(())
        .unwrap();
    assert_eq!(
        route(&s, &req).headers()["location"],
        "https://www.one.test/a/b?c=%20d"
    );
}

/// HTTP/2 header lists above `limits.max_header_bytes` get the router's 431, with CORS.
#[tokio::test]
async fn oversized_http2_header_lists_get_431_with_cors() {
    let s = state(&ONE.replace(
        "[[domain]]",
        "[limits]\nmax_header_bytes = 8192\n[[domain]]",
    ));
    let get = |size: usize| {
        Request::get("https://one.test/.well-known/matrix/server")
            .version(Version::HTTP_2)
            .header("x-big", "a".repeat(size).as_str())
            .body(())
            .unwrap()
    };
    let r = route(&s, &get(9000));
    assert_eq!(r.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    assert!(body(r).await.contains("M_TOO_LARGE"));
    assert_eq!(route(&s, &get(7000)).status(), StatusCode::OK);
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
fn metrics_labels_name_documents_files_health_and_other() {
    let s = state(
        "[listen]\nhttp = [\"127.0.0.1:0\"]\n[[domain]]\nname = \"one.test\"\nserver = \"m.one.test:443\"\n\
         [[domain.file]]\npath = \"/.well-known/matrix/mautrix\"\njson = {}\n",
    );
    assert_eq!(s.label("/.well-known/matrix/server"), "server");
    assert_eq!(s.label("/.well-known/element/element.json"), "element");
    assert_eq!(s.label("/.well-known/matrix/mautrix"), "file");
    assert_eq!(s.label("/healthz"), "health");
    assert_eq!(s.label("/.well-known/matrix/other"), "other");
}

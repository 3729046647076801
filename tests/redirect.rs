//! The port-80 listener (`listen.redirect_http`): ACME HTTP-01 tokens answered, every other
//! request to a configured domain a 308 to the same path over HTTPS, an unknown host a 404,
//! CORS on all of it, and never a document.

mod common;

use std::sync::Arc;

use common::{COMMON, Pki, TestServer, Via, call};
use wellknownd::challenges::Challenges;

async fn server(pki: &Pki) -> TestServer {
    pki.leaf("example", &["a.test", "b.test"]);
    let config = "[listen]\nredirect_http = [\"127.0.0.1:0\"]\nhttps = [\"127.0.0.1:0\"]\n\
        [tls]\ncertificate = \"example.crt\"\nprivate_key = \"example.key\"\n\
        [[domain]]\nname = \"a.test\"\nserver = \"matrix.a.test:443\"\n\
        [[domain]]\nname = \"b.test\"\nserver = \"matrix.b.test:443\"\n";
    TestServer::start(pki, config).await
}

fn with<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    COMMON
        .iter()
        .copied()
        .chain(extra.iter().copied())
        .collect()
}

#[tokio::test]
async fn every_request_to_a_known_host_is_sent_to_https_with_its_path_and_query() {
    let pki = Pki::new();
    let server = server(&pki).await;
    for (host, path, location) in [
        ("a.test", "/", "https://a.test/"),
        ("B.test", "/some/page?q=1", "https://b.test/some/page?q=1"),
        (
            "a.test:80",
            "/.well-known/matrix/server",
            "https://a.test/.well-known/matrix/server",
        ),
    ] {
        let r = call(&pki, server.plain(), Via::Plain, "GET", host, path).await;
        assert_eq!(r.status, 308, "{host}{path}");
        r.assert_headers(&with(&[("content-length", "0"), ("location", location)]));
        assert!(r.body.is_empty());
    }
    server.stop().await;
}

#[tokio::test]
async fn an_unknown_host_gets_a_404_with_cors() {
    let pki = Pki::new();
    let server = server(&pki).await;
    let r = call(&pki, server.plain(), Via::Plain, "GET", "c.test", "/").await;
    assert_eq!(r.status, 404);
    let body =
        r#"{"errcode":"M_UNRECOGNIZED","error":"No Matrix domain is served at this host name"}"#;
    let length = body.len().to_string();
    r.assert_headers(&with(&[
        ("content-type", "application/json"),
        ("content-length", &length),
    ]));
    assert_eq!(r.text(), body);
    server.stop().await;
}

#[tokio::test]
async fn a_pending_http_01_token_is_answered_with_its_key_authorization() {
    let pki = Pki::new();
    let server = server(&pki).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("http-01")).unwrap();
    std::fs::write(dir.path().join("http-01/tok-EN_1"), "tok-EN_1.thumbprint").unwrap();
    let read = Challenges::read(dir.path(), &wellknownd::tls::certs::provider());
    server.challenges.store(Arc::new(read));
    let path = "/.well-known/acme-challenge/tok-EN_1";
    let r = call(&pki, server.plain(), Via::Plain, "GET", "a.test", path).await;
    assert_eq!(r.status, 200);
    r.assert_headers(&with(&[
        ("content-type", "application/octet-stream"),
        ("content-length", "19"),
        ("cache-control", "no-store"),
    ]));
    assert_eq!(r.text(), "tok-EN_1.thumbprint");
    let head = call(&pki, server.plain(), Via::Plain, "HEAD", "a.test", path).await;
    assert_eq!((head.status, head.body.len()), (200, 0));
    let post = call(&pki, server.plain(), Via::Plain, "POST", "a.test", path).await;
    assert_eq!(post.status, 405);
    let other = "/.well-known/acme-challenge/other";
    let unknown = call(&pki, server.plain(), Via::Plain, "GET", "a.test", other).await;
    assert_eq!(unknown.status, 404, "only pending tokens are answered");
    assert_eq!(unknown.headers["access-control-allow-origin"], "*");
    server.stop().await;
}

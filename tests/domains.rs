//! Several domains: certificates chosen by SNI (with a default for unknown or missing SNI),
//! documents routed by Host / :authority, never one domain's delegation for another.

mod common;

use common::{Pki, TestServer, Via, call, request, send, server_document};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use wellknownd::server::{Listener, Proto};

const UNKNOWN_HOST: &str =
    r#"{"errcode":"M_UNRECOGNIZED","error":"No Matrix domain is served at this host name"}"#;

fn config(default_two: bool) -> String {
    format!(
        r#"
[listen]
https = ["127.0.0.1:0"]
http = ["127.0.0.1:0"]

[tls]
certificate = "default.crt"
private_key = "default.key"

[[domain]]
name = "one.test"
server = "matrix.one.test:443"
[domain.tls]
certificate = "one.crt"
private_key = "one.key"

[[domain]]
name = "Two.Test"
server = "matrix.two.test:443"
default = {default_two}
[domain.tls]
certificate = "two.crt"
private_key = "two.key"
"#
    )
}

fn pki() -> Pki {
    let pki = Pki::new();
    pki.leaf("default", &["fallback.test", "127.0.0.1"]);
    pki.leaf("one", &["one.test"]);
    pki.leaf("two", &["two.test"]);
    pki
}

fn cert(pki: &Pki, stem: &str) -> CertificateDer<'static> {
    CertificateDer::from_pem_file(pki.path(&format!("{stem}.crt"))).unwrap()
}

fn server_body(name: &str) -> String {
    format!(r#"{{"m.server":"matrix.{name}:443"}}"#)
}

#[tokio::test]
async fn sni_picks_the_certificate_and_host_picks_the_document() {
    let pki = pki();
    let server = TestServer::start(&pki, &config(false)).await;
    for via in [Via::H1, Via::H2] {
        for name in ["one.test", "two.test"] {
            let stem = &name[..3];
            let r = call(
                &pki,
                server.tls(),
                via,
                "GET",
                name,
                "/.well-known/matrix/server",
            )
            .await;
            assert_eq!(r.status, 200);
            assert_eq!(r.text(), server_body(name));
            assert_eq!(
                r.peer.as_ref(),
                Some(&cert(&pki, stem)),
                "{name} gets its own certificate"
            );
        }
        // SNI for one domain, Host for the other: the Host decides the document.
        let req = request("GET", "two.test", "/.well-known/matrix/server", &[]);
        let r = send(&pki, server.tls(), via, "one.test", req).await;
        assert_eq!(
            (r.status, r.text()),
            (200, server_body("two.test").as_str())
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn host_is_compared_without_case_port_or_trailing_dot() {
    let pki = pki();
    let server = TestServer::start(&pki, &config(false)).await;
    for via in [Via::H1, Via::H2, Via::Plain] {
        let addr = if via == Via::Plain {
            server.plain()
        } else {
            server.tls()
        };
        for host in ["ONE.test", "one.test:8443", "one.test.", "One.Test.:443"] {
            let req = request("GET", host, "/.well-known/matrix/server", &[]);
            let r = send(&pki, addr, via, "one.test", req).await;
            assert_eq!(
                (r.status, r.text()),
                (200, server_body("one.test").as_str()),
                "{via:?} Host {host}"
            );
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn unknown_host_gets_404_with_cors_and_the_default_certificate() {
    let pki = pki();
    let server = TestServer::start(&pki, &config(false)).await;
    for via in [Via::H1, Via::H2] {
        let r = call(
            &pki,
            server.tls(),
            via,
            "GET",
            "fallback.test",
            "/.well-known/matrix/server",
        )
        .await;
        assert_eq!(r.status, 404);
        assert_eq!(r.text(), UNKNOWN_HOST);
        assert_eq!(r.headers["access-control-allow-origin"], "*");
        assert_eq!(r.headers["content-type"], "application/json");
        assert_eq!(r.peer.as_ref(), Some(&cert(&pki, "default")));
        // No SNI at all (a client connecting by IP, a load-balancer check): the default
        // certificate, not a failed handshake.
        assert_eq!(
            server_document(&pki, server.tls(), via, "127.0.0.1").await,
            (404, UNKNOWN_HOST.to_string())
        );
        assert_eq!(r.peer.as_ref(), Some(&cert(&pki, "default")));
    }
    assert_eq!(
        server_document(&pki, server.plain(), Via::Plain, "three.test").await,
        (404, UNKNOWN_HOST.to_string())
    );
    server.stop().await;
}

#[tokio::test]
async fn the_default_domain_answers_unknown_hosts() {
    let pki = pki();
    let server = TestServer::start(&pki, &config(true)).await;
    for host in ["three.test", "127.0.0.1"] {
        assert_eq!(
            server_document(&pki, server.plain(), Via::Plain, host).await,
            (200, server_body("two.test"))
        );
    }
    assert_eq!(
        server_document(&pki, server.plain(), Via::Plain, "one.test").await,
        (200, server_body("one.test"))
    );
    server.stop().await;
}

#[tokio::test]
async fn a_single_domain_answers_whatever_the_host_and_plain_http_needs_no_certificate() {
    let pki = Pki::new();
    let config = r#"
        [listen]
        http = ["127.0.0.1:0"]
        [[domain]]
        name = "example.com"
        server = "matrix.example.com:443"
    "#;
    let server = TestServer::start(&pki, config).await;
    for host in ["example.com", "localhost", "10.0.0.1:8080"] {
        assert_eq!(
            server_document(&pki, server.plain(), Via::Plain, host).await,
            (200, r#"{"m.server":"matrix.example.com:443"}"#.to_string())
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn ipv4_and_ipv6_wildcards_bind_the_same_port() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 on this machine: skipped");
        return;
    }
    let pki = Pki::new();
    pki.leaf("example", &["example.com"]);
    let config = r#"
        [tls]
        certificate = "example.crt"
        private_key = "example.key"
        [[domain]]
        name = "example.com"
        server = "matrix.example.com:443"
    "#;
    let v4 = Listener::bind(
        "0.0.0.0:0".parse().unwrap(),
        Proto::Https,
        Default::default(),
    )
    .unwrap();
    let port = v4.tcp.local_addr().unwrap().port();
    // Fails with EADDRINUSE if the IPv6 socket were dual-stack.
    let v6 = Listener::bind(
        format!("[::]:{port}").parse().unwrap(),
        Proto::Https,
        Default::default(),
    )
    .unwrap();
    let server = TestServer::start_on(common::load(&pki, config), vec![v4, v6]);
    for addr in [format!("127.0.0.1:{port}"), format!("[::1]:{port}")] {
        let r = call(
            &pki,
            addr.parse().unwrap(),
            Via::H2,
            "GET",
            "example.com",
            "/.well-known/matrix/server",
        )
        .await;
        assert_eq!(r.status, 200, "{addr}");
    }
    server.stop().await;
}

/// A TLS connection to the server's TLS listener as `one.test`, with `config`.
async fn connect(
    server: &TestServer,
    config: std::sync::Arc<rustls::ClientConfig>,
) -> std::io::Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
    let tcp = common::within(tokio::net::TcpStream::connect(server.tls())).await?;
    let name = rustls::pki_types::ServerName::try_from("one.test").unwrap();
    common::within(tokio_rustls::TlsConnector::from(config).connect(name, tcp)).await
}

#[tokio::test]
async fn tls_1_2_and_1_3_both_negotiate_h2_and_http_1_1() {
    let pki = pki();
    let server = TestServer::start(&pki, &config(false)).await;
    for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
        for alpn in [&b"h2"[..], b"http/1.1"] {
            let config = common::client_config(&pki, &[version], alpn);
            let tls = connect(&server, config).await.unwrap();
            let conn = tls.get_ref().1;
            assert_eq!(conn.protocol_version(), Some(version.version));
            assert_eq!(conn.alpn_protocol(), Some(alpn));
        }
    }
    server.stop().await;
}

/// A handshake that fails tells the client why (here: no ALPN protocol in common), in TLS 1.2
/// and 1.3 alike, instead of just closing.
#[tokio::test]
async fn a_failed_handshake_still_sends_its_alert() {
    let pki = pki();
    let server = TestServer::start(&pki, &config(false)).await;
    for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
        let config = common::client_config(&pki, &[version], b"spdy/3");
        let error = connect(&server, config)
            .await
            .err()
            .and_then(|e| e.into_inner())
            .and_then(|e| e.downcast::<rustls::Error>().ok());
        assert_eq!(
            error.as_deref(),
            Some(&rustls::Error::AlertReceived(
                rustls::AlertDescription::NoApplicationProtocol
            )),
            "{version:?}"
        );
    }
    server.stop().await;
}

/// Session tickets: a client coming back resumes instead of a full handshake, in TLS 1.2
/// and 1.3 alike.
#[tokio::test]
async fn returning_clients_resume_their_tls_session() {
    let pki = pki();
    let server = TestServer::start(&pki, &config(false)).await;
    for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
        let config = common::client_config(&pki, &[version], b"http/1.1");
        let mut kinds = Vec::new();
        for _ in 0..2 {
            let tls = connect(&server, config.clone()).await.unwrap();
            kinds.push(tls.get_ref().1.handshake_kind());
            // TLS 1.3 tickets arrive after the handshake: read the response so they are taken.
            let request = common::request("GET", "one.test", "/.well-known/matrix/server", &[]);
            let r =
                common::exchange(hyper_util::rt::TokioIo::new(tls), Via::H1, None, request).await;
            assert_eq!(r.status, 200);
        }
        assert_eq!(
            kinds,
            [
                Some(rustls::HandshakeKind::Full),
                Some(rustls::HandshakeKind::Resumed)
            ],
            "{version:?}"
        );
    }
    server.stop().await;
}

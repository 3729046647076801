//! Behind a load balancer: PROXY protocol v1/v2 on plain and TLS listeners (and refused where
//! malformed or where it is off), the health endpoint turning 503 during the shutdown delay,
//! the access log and the Prometheus metrics. Runs the real binary.

mod common;

use std::process::Command;

use common::{Daemon, Pki, Via, address, kill, server_document, within};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const BIN: &str = env!("CARGO_BIN_EXE_wellknownd");
const SERVER: &str = r#"{"m.server":"matrix.example.com:443"}"#;
const CONFIG: &str = r#"
[listen]
https = [{ address = "127.0.0.1:0", proxy_protocol = true }]
http = [{ address = "127.0.0.1:0", proxy_protocol = true }, "127.0.0.1:0"]

[limits]
handshake_timeout_secs = 2

[health]
shutdown_delay_secs = 2

[metrics]
listen = "127.0.0.1:0"

[log]
access = true

[tls]
certificate = "example.crt"
private_key = "example.key"

[[domain]]
name = "example.com"
server = "matrix.example.com:443"
"#;

struct Balanced {
    pki: Pki,
    daemon: Daemon,
    metrics: std::net::SocketAddr,
    tls_proxy: std::net::SocketAddr,
    http_proxy: std::net::SocketAddr,
    http: std::net::SocketAddr,
}

fn start() -> Balanced {
    let pki = Pki::new();
    pki.leaf("example", &["example.com"]);
    let path = pki.write("config.toml", CONFIG);
    let mut daemon = Daemon::start(Command::new(BIN).arg("--config").arg(&path));
    let metrics = address(&daemon.line("metrics on http://"));
    let tls_proxy = address(&daemon.line("listening on https://"));
    let http_proxy = address(&daemon.line("listening on http://"));
    let http = address(&daemon.line("listening on http://"));
    Balanced {
        pki,
        daemon,
        metrics,
        tls_proxy,
        http_proxy,
        http,
    }
}

fn v2_header(client: [u8; 4], port: u16) -> Vec<u8> {
    let mut h = b"\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c".to_vec();
    h.extend(client);
    h.extend([127, 0, 0, 1]);
    h.extend(port.to_be_bytes());
    h.extend(443u16.to_be_bytes());
    h
}

async fn exchange_raw(addr: std::net::SocketAddr, bytes: &[u8]) -> String {
    let mut s = within(TcpStream::connect(addr)).await.unwrap();
    within(s.write_all(bytes)).await.unwrap();
    let mut out = Vec::new();
    let _ = within(s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

const GET: &str =
    "GET /.well-known/matrix/server HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n";

#[tokio::test]
async fn proxy_protocol_gives_the_real_client_address_to_the_access_log() {
    let mut b = start();
    let answer = exchange_raw(
        b.http_proxy,
        format!("PROXY TCP4 203.0.113.9 127.0.0.1 56324 443\r\n{GET}").as_bytes(),
    )
    .await;
    assert!(
        answer.starts_with("HTTP/1.1 200 OK") && answer.ends_with(SERVER),
        "{answer}"
    );
    let line = b.daemon.line("access 203.0.113.9:56324");
    assert!(
        line.contains(&format!(
            "access 203.0.113.9:56324 example.com \"GET /.well-known/matrix/server\" 200 {} ",
            SERVER.len()
        )),
        "{line}"
    );

    let answer = exchange_raw(
        b.http_proxy,
        &[
            v2_header([198, 51, 100, 20], 40000),
            GET.as_bytes().to_vec(),
        ]
        .concat(),
    )
    .await;
    assert!(answer.ends_with(SERVER), "{answer}");
    b.daemon.line("access 198.51.100.20:40000 example.com");

    // TLS: the header comes first, then the ClientHello.
    let mut tcp = within(TcpStream::connect(b.tls_proxy)).await.unwrap();
    within(tcp.write_all(&v2_header([192, 0, 2, 33], 50000)))
        .await
        .unwrap();
    let config = common::client_config(&b.pki, rustls::ALL_VERSIONS, b"h2");
    let name = rustls::pki_types::ServerName::try_from("example.com").unwrap();
    let tls = within(tokio_rustls::TlsConnector::from(config).connect(name, tcp))
        .await
        .unwrap();
    let request = common::request("GET", "example.com", "/.well-known/matrix/server", &[]);
    let r = common::exchange(TokioIo::new(tls), Via::H2, None, request).await;
    assert_eq!((r.status, r.text()), (200, SERVER));
    b.daemon
        .line("access 192.0.2.33:50000 example.com \"GET /.well-known/matrix/server\" 200");
}

#[tokio::test]
async fn missing_or_malformed_proxy_headers_close_the_connection_and_are_never_trusted_elsewhere() {
    let b = start();
    for bad in [
        GET.to_string(),
        format!("PROXY TCP4 203.0.113.9 127.0.0.1 99999 443\r\n{GET}"),
        format!("PROXY TCP9 x y 1 2\r\n{GET}"),
        format!("PROXY {}\r\n{GET}", "x".repeat(200)),
    ] {
        assert_eq!(
            exchange_raw(b.http_proxy, bad.as_bytes()).await,
            "",
            "{bad:?}"
        );
    }
    let mut truncated_v2 = v2_header([203, 0, 113, 9], 1);
    truncated_v2[15] = 200; // claims 200 bytes of addresses, sends 12
    assert_eq!(exchange_raw(b.tls_proxy, &truncated_v2[..20]).await, "");
    // On a listener without proxy_protocol, a PROXY line is just a bad request.
    let answer = exchange_raw(
        b.http,
        format!("PROXY TCP4 203.0.113.9 127.0.0.1 56324 443\r\n{GET}").as_bytes(),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    let (status, body) = server_document(&b.pki, b.http, Via::Plain, "example.com").await;
    assert_eq!((status, body.as_str()), (200, SERVER));
}

#[tokio::test]
async fn health_turns_503_during_the_shutdown_delay_while_documents_are_still_served() {
    let mut b = start();
    let health = |addr| async move {
        common::call(&Pki::new(), addr, Via::Plain, "GET", "10.0.0.1", "/healthz").await
    };
    let r = health(b.http).await;
    assert_eq!((r.status, r.text()), (200, r#"{"status":"ok"}"#));
    let mut expected: Vec<(&str, &str)> = common::COMMON.to_vec();
    expected.extend([
        ("content-type", "application/json"),
        ("content-length", "15"),
        ("cache-control", "no-store"),
    ]);
    r.assert_headers(&expected);
    kill("TERM", b.daemon.child.id());
    b.daemon
        .line("stopping in 2s: health endpoint now answers 503");
    let r = health(b.http).await;
    assert_eq!((r.status, r.text()), (503, r#"{"status":"stopping"}"#));
    let (status, body) = server_document(&b.pki, b.http, Via::Plain, "example.com").await;
    assert_eq!(
        (status, body.as_str()),
        (200, SERVER),
        "still serving during the delay"
    );
    b.daemon.line("stopping: finishing requests in flight");
    assert_eq!(b.daemon.wait().code(), Some(0));
}

#[tokio::test]
async fn metrics_count_requests_reloads_and_certificate_expiry() {
    let mut b = start();
    for _ in 0..2 {
        let (status, _) = server_document(&b.pki, b.http, Via::Plain, "example.com").await;
        assert_eq!(status, 200);
    }
    let r = common::call(&b.pki, b.http, Via::Plain, "GET", "example.com", "/nope").await;
    assert_eq!(r.status, 404);
    kill("HUP", b.daemon.child.id());
    b.daemon.line("reloaded");
    // A reload the daemon refuses: counted as failed, the previous config still serving.
    let config = b.pki.path("config.toml");
    let good = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        good.replace("matrix.example.com:443", "https://matrix.example.com"),
    )
    .unwrap();
    kill("HUP", b.daemon.child.id());
    b.daemon.line("reload failed");
    std::fs::write(&config, &good).unwrap();
    let (status, body) = server_document(&b.pki, b.http, Via::Plain, "example.com").await;
    assert_eq!((status, body.as_str()), (200, SERVER));
    let r = metrics(&b).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["content-type"], "text/plain; version=0.0.4");
    let text = r.text();
    let expiry = wellknownd::civil::days_from_civil(4096, 1, 1) * 86_400;
    let dir = b.pki.dir.path().display();
    for line in [
        "wellknownd_requests_total{domain=\"example.com\",document=\"server\",status=\"200\"} 3"
            .to_string(),
        "wellknownd_requests_total{domain=\"example.com\",document=\"other\",status=\"404\"} 1"
            .into(),
        "wellknownd_reloads_total{result=\"ok\"} 1".into(),
        "wellknownd_reloads_total{result=\"failed\"} 1".into(),
        "wellknownd_config_generation 1".into(),
        "wellknownd_tls_handshake_failures_total 0".into(),
        "# TYPE wellknownd_open_connections gauge".into(),
        format!(
            "wellknownd_certificate_expiry_seconds{{key=\"tls\",path=\"{dir}/example.crt\"}} {expiry}"
        ),
        "# TYPE wellknownd_delegation_info gauge".into(),
        DELEGATION.replace("SERVER", "matrix.example.com:443"),
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    // A delegation change shows in the info series, the old value gone.
    std::fs::write(
        &config,
        good.replace("matrix.example.com:443", "matrix.example.net:8448"),
    )
    .unwrap();
    kill("HUP", b.daemon.child.id());
    b.daemon.line("DELEGATION CHANGED for example.com");
    b.daemon.line("reloaded");
    let r = metrics(&b).await;
    let info: Vec<&str> = r
        .text()
        .lines()
        .filter(|l| l.starts_with("wellknownd_delegation_info"))
        .collect();
    assert_eq!(
        info,
        [DELEGATION.replace("SERVER", "matrix.example.net:8448")]
    );
}

async fn metrics(b: &Balanced) -> common::Reply {
    common::call(
        &b.pki,
        b.metrics,
        Via::Plain,
        "GET",
        "127.0.0.1",
        "/metrics",
    )
    .await
}

const DELEGATION: &str =
    "wellknownd_delegation_info{domain=\"example.com\",server=\"SERVER\",base_url=\"\"} 1";

//! The limits that keep one client from taking the daemon down: idleness judged by requests
//! (an HTTP/2 client that only PINGs is idle), the per-address connection cap (IPv4 here;
//! the /64 rule is a unit test), and the connection age that ends busy connections
//! gracefully. Each test checks what the bad client sees and that others are unaffected.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{Pki, TestServer, Via, server_document, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const OK: (u16, &str) = (200, r#"{"m.server":"matrix.example.com:443"}"#);
const GET: &[u8] = b"GET /.well-known/matrix/server HTTP/1.1\r\nHost: example.com\r\n\r\n";

async fn start(listen: &str, limits: &str) -> (Pki, TestServer) {
    let pki = Pki::new();
    pki.leaf("example", &["example.com"]);
    let config = format!(
        "[listen]\n{listen}\n[limits]\n{limits}\n[tls]\ncertificate = \"example.crt\"\nprivate_key = \"example.key\"\n\
         [[domain]]\nname = \"example.com\"\nserver = \"matrix.example.com:443\"\n"
    );
    let server = TestServer::start(&pki, &config).await;
    (pki, server)
}

/// A TLS connection offering only `h2`, for the h2 crate's client (which can PING and set
/// its own windows, as hyper's cannot).
async fn h2_tls(pki: &Pki, addr: SocketAddr) -> tokio_rustls::client::TlsStream<TcpStream> {
    let tcp = within(TcpStream::connect(addr)).await.unwrap();
    let config = common::client_config(pki, rustls::ALL_VERSIONS, b"h2");
    let name = rustls::pki_types::ServerName::try_from("example.com").unwrap();
    within(tokio_rustls::TlsConnector::from(config).connect(name, tcp))
        .await
        .unwrap()
}

/// An HTTP/2 client that makes one request and then only sends PINGs (each answered, so
/// bytes move both ways every 300 ms) is idle: it gets GOAWAY at the idle timeout.
#[tokio::test]
async fn an_http2_client_that_only_pings_is_closed_at_the_idle_timeout() {
    let (pki, server) = start(
        "https = [\"127.0.0.1:0\"]",
        "idle_timeout_secs = 2\nheader_timeout_secs = 10",
    )
    .await;
    let tls = h2_tls(&pki, server.tls()).await;
    let (client, mut connection) = within(h2::client::handshake(tls)).await.unwrap();
    let mut ping_pong = connection.ping_pong().unwrap();
    let connection = tokio::spawn(connection);
    let mut client = within(client.ready()).await.unwrap();
    let req = http::Request::get("https://example.com/.well-known/matrix/server")
        .body(())
        .unwrap();
    let (response, _) = client.send_request(req, true).unwrap();
    assert_eq!(within(response).await.unwrap().status(), 200);
    let quiet_since = Instant::now();
    let pings = tokio::spawn(async move {
        let mut answered = 0;
        while tokio::time::timeout(common::TIMEOUT, ping_pong.ping(h2::Ping::opaque()))
            .await
            .is_ok_and(|pong| pong.is_ok())
        {
            answered += 1;
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        answered
    });
    let _ = within(connection).await.unwrap();
    let closed_after = quiet_since.elapsed();
    let answered = within(pings).await.unwrap();
    assert!(answered >= 4, "{answered} PINGs answered before the close");
    // Idle timeout 2 s, checked on a 500 ms tick.
    assert!(
        closed_after >= Duration::from_millis(1500) && closed_after < Duration::from_secs(4),
        "closed {closed_after:?} after the last request"
    );
    drop(client);
    server.stop().await;
}

/// An HTTP/2 client that opens its window to nothing holds its responses in flight for ever
/// without reading them: not idle, but stalled, and cut once nothing finished for the idle
/// timeout. Another client is served meanwhile.
#[tokio::test]
async fn an_http2_client_that_reads_nothing_is_cut_when_stalled() {
    let (pki, server) = start(
        "https = [\"127.0.0.1:0\"]",
        "idle_timeout_secs = 2\nheader_timeout_secs = 10",
    )
    .await;
    let tls = h2_tls(&pki, server.tls()).await;
    let (client, connection) = within(
        h2::client::Builder::new()
            .initial_window_size(0)
            .handshake::<_, bytes::Bytes>(tls),
    )
    .await
    .unwrap();
    let started = Instant::now();
    let connection = tokio::spawn(connection);
    let mut client = within(client.ready()).await.unwrap();
    let req = http::Request::get("https://example.com/.well-known/matrix/server")
        .body(())
        .unwrap();
    let (response, _) = client.send_request(req, true).unwrap();
    let response = within(response).await.unwrap();
    assert_eq!(response.status(), 200, "the head arrives; the body cannot");
    let (status, body) = server_document(&pki, server.tls(), Via::H2, "example.com").await;
    assert_eq!((status, body.as_str()), OK);
    let _ = within(connection).await.unwrap();
    let cut_after = started.elapsed();
    assert!(
        cut_after >= Duration::from_millis(1500) && cut_after < Duration::from_secs(5),
        "cut after {cut_after:?}"
    );
    drop((client, response));
    server.stop().await;
}

/// A TCP connection to `addr` from `source` (another loopback address).
async fn connect_from(source: &str, addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(source.parse().unwrap()).unwrap();
    within(socket.connect(addr)).await.unwrap()
}

/// Whether the server closed `s` (end of stream) rather than keeping it open (nothing to read
/// for 200 ms). Asked once the server counted its refusals, so a close is already there.
async fn closed(s: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    match tokio::time::timeout(Duration::from_millis(200), s.read(&mut byte)).await {
        Err(_) => false,
        Ok(Ok(0) | Err(_)) => true,
        Ok(Ok(_)) => panic!("the server sent something to an idle connection"),
    }
}

/// `wellknownd_connections_refused_total{reason="per_ip"}`.
fn refused(server: &TestServer) -> u64 {
    let text = server.metrics.render();
    let prefix = "wellknownd_connections_refused_total{reason=\"per_ip\"} ";
    let line = text.lines().find_map(|l| l.strip_prefix(prefix));
    line.and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{text}"))
}

/// `n` idle connections to `addr`, each sending `first` (a PROXY header, or nothing); once
/// the server has counted `refusals` more refusals (polled, bounded), the ones it kept open
/// and how many it closed.
async fn hold(
    server: &TestServer,
    addr: SocketAddr,
    n: usize,
    first: &[u8],
    refusals: u64,
) -> (Vec<TcpStream>, usize) {
    let before = refused(server);
    let mut opened = Vec::new();
    for _ in 0..n {
        let mut s = within(TcpStream::connect(addr)).await.unwrap();
        within(s.write_all(first)).await.unwrap();
        opened.push(s);
    }
    within(async {
        while refused(server) < before + refusals {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    let (mut held, mut closed_ones) = (Vec::new(), 0);
    for mut s in opened {
        if closed(&mut s).await {
            closed_ones += 1;
        } else {
            held.push(s);
        }
    }
    (held, closed_ones)
}

fn proxy_v1(source: &str) -> Vec<u8> {
    format!("PROXY TCP4 {source} 127.0.0.1 40000 443\r\n").into_bytes()
}

/// Twice `max_connections_per_ip` idle connections from one address would fill every slot
/// (`max_connections` is exactly that): the cap closes half of them at once, and a client
/// from another address is served at once. Behind a PROXY listener the header's address
/// counts; a listener with `per_ip_limit = false` has no cap.
#[tokio::test]
async fn one_address_cannot_take_every_slot() {
    let listen = "http = [\"127.0.0.1:0\", { address = \"127.0.0.1:0\", proxy_protocol = true }, { address = \"127.0.0.1:0\", per_ip_limit = false }]";
    let (_pki, server) = start(listen, "max_connections = 6\nmax_connections_per_ip = 3").await;
    let [plain, proxied, unlimited] = [server.http[0], server.http[1], server.http[2]];
    let (held, closed) = hold(&server, plain, 6, b"", 3).await;
    assert_eq!((held.len(), closed), (3, 3));
    let mut other = connect_from("127.0.0.2:0", plain).await;
    within(other.write_all(GET)).await.unwrap();
    let mut head = [0u8; 12];
    tokio::time::timeout(Duration::from_secs(1), other.read_exact(&mut head))
        .await
        .expect("another address is served at once")
        .unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    drop((held, other));

    let (held, closed) = hold(&server, proxied, 4, &proxy_v1("192.0.2.7"), 1).await;
    assert_eq!(
        (held.len(), closed),
        (3, 1),
        "the PROXY header's address counts"
    );
    let mut other = within(TcpStream::connect(proxied)).await.unwrap();
    within(other.write_all(&[proxy_v1("192.0.2.8"), GET.to_vec()].concat()))
        .await
        .unwrap();
    within(other.read_exact(&mut head)).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    drop((held, other));

    let (held, closed) = hold(&server, unlimited, 5, b"", 0).await;
    assert_eq!((held.len(), closed), (5, 0), "per_ip_limit = false: no cap");
    let (status, body) = server_document(&_pki, unlimited, Via::Plain, "example.com").await;
    assert_eq!((status, body.as_str()), OK);
    drop(held);
    assert_eq!(refused(&server), 4);
    server.stop().await;
}

/// Past `max_connection_age_secs`, a busy connection ends gracefully: HTTP/1.1 says
/// `Connection: close` on its next response and closes after it, HTTP/2 gets GOAWAY; every
/// request sent before is answered in full.
#[tokio::test]
async fn busy_connections_end_gracefully_at_their_age() {
    let (pki, server) = start(
        "https = [\"127.0.0.1:0\"]\nhttp = [\"127.0.0.1:0\"]",
        "max_connection_age_secs = 1",
    )
    .await;
    let started = Instant::now();
    let mut s = within(TcpStream::connect(server.plain())).await.unwrap();
    let mut answered = 0;
    let last = loop {
        within(s.write_all(GET)).await.unwrap();
        let answer = read_answer(&mut s).await;
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        answered += 1;
        if answer.contains("\r\nconnection: close\r\n") || answered == 100 {
            break answer;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        last.contains("\r\nconnection: close\r\n"),
        "{answered}: {last}"
    );
    assert!(started.elapsed() >= Duration::from_secs(1));
    let mut rest = Vec::new();
    within(s.read_to_end(&mut rest)).await.unwrap();
    assert!(rest.is_empty(), "closed after the response");

    let mut session = common::h2_session(&pki, server.tls(), "example.com").await;
    let started = Instant::now();
    let mut answered = 0;
    while within(session.ready()).await.is_ok() && answered < 100 {
        let request = common::request("GET", "example.com", "/.well-known/matrix/server", &[]);
        match within(session.send_request(request)).await {
            Ok(r) => assert_eq!(r.status(), 200),
            // A request the client sent as GOAWAY crossed it: refused, never half-answered.
            Err(e) => assert!(e.to_string().contains("GOAWAY") || e.is_canceled(), "{e}"),
        }
        answered += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        answered < 100,
        "HTTP/2 connection still open after {answered} requests"
    );
    assert!(started.elapsed() >= Duration::from_secs(1));
    server.stop().await;
}

/// Reads one whole answer (head and a body of its Content-Length) from `s`.
async fn read_answer(s: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let text = String::from_utf8_lossy(&got).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(0);
            if body.len() >= length {
                return text;
            }
        }
        let n = within(s.read(&mut buf)).await.unwrap();
        assert!(n > 0, "closed mid-answer: {text:?}");
        got.extend_from_slice(&buf[..n]);
    }
}

//! Misbehaving clients and load balancers: slowloris, oversized heads, garbage, rapid reset,
//! PROXY protocol, connection limits, idle timeouts, bodies. Each test checks that the bad
//! client is cut off and that a normal client keeps getting answers meanwhile.

mod common;

use std::time::Duration;

use common::raw::{self, until_closed};
use common::{Pki, TestServer, Via, server_document, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const OK: (u16, &str) = (200, r#"{"m.server":"matrix.example.com:443"}"#);

fn config(extra: &str) -> String {
    format!(
        "[listen]\nhttps = [\"127.0.0.1:0\"]\nhttp = [\"127.0.0.1:0\"]\n{extra}\n[tls]\ncertificate = \"example.crt\"\nprivate_key = \"example.key\"\n\
         [[domain]]\nname = \"example.com\"\nserver = \"matrix.example.com:443\"\n"
    )
}

async fn start(extra: &str) -> (Pki, TestServer) {
    let pki = Pki::new();
    pki.leaf("example", &["example.com"]);
    let server = TestServer::start(&pki, &config(extra)).await;
    (pki, server)
}

async fn assert_served(pki: &Pki, server: &TestServer) {
    for via in [Via::H1, Via::H2] {
        let (status, body) = server_document(pki, server.tls(), via, "example.com").await;
        assert_eq!((status, body.as_str()), OK);
    }
    let (status, body) = server_document(pki, server.plain(), Via::Plain, "example.com").await;
    assert_eq!((status, body.as_str()), OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_clients_are_closed_while_others_are_served() {
    let (pki, server) =
        start("[limits]\nhandshake_timeout_secs = 1\nheader_timeout_secs = 1").await;
    let mut silent = Vec::new();
    let mut trickling = Vec::new();
    for _ in 0..100 {
        // Opens TLS but never says hello.
        silent.push(within(TcpStream::connect(server.tls())).await.unwrap());
        // Sends a request head one byte at a time, never finishing it.
        let mut s = within(TcpStream::connect(server.plain())).await.unwrap();
        within(s.write_all(b"GET /.well-known/matrix/server HTTP/1.1\r\nX-A: "))
            .await
            .unwrap();
        trickling.push(s);
    }
    let trickle = tokio::spawn(async move {
        for _ in 0..10 {
            for s in &mut trickling {
                let _ = s.write_all(b"a").await;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        trickling
    });
    assert_served(&pki, &server).await;
    for mut s in silent {
        assert!(
            until_closed(&mut s).await.is_empty(),
            "a silent TLS client is closed without a word"
        );
    }
    for mut s in within(trickle).await.unwrap() {
        assert!(
            until_closed(&mut s).await.is_empty(),
            "a trickling client is closed"
        );
    }
    assert_served(&pki, &server).await;
    server.stop().await;
}

#[tokio::test]
async fn oversized_heads_get_431_and_requests_carry_no_body() {
    let (pki, server) = start("[limits]\nmax_header_bytes = 8192").await;
    let big = format!(
        "GET /.well-known/matrix/server HTTP/1.1\r\nHost: example.com\r\nX-Big: {}\r\n\r\n",
        "a".repeat(10_000)
    );
    let answer = raw::request(server.plain(), big.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 431 "), "{answer}");
    let h2 = common::request(
        "GET",
        "example.com",
        "/.well-known/matrix/server",
        &[("x-big", &"a".repeat(10_000))],
    );
    let tcp = within(TcpStream::connect(server.tls())).await.unwrap();
    let tls = within(
        tokio_rustls::TlsConnector::from(common::client_config(&pki, rustls::ALL_VERSIONS, b"h2"))
            .connect(
                rustls::pki_types::ServerName::try_from("example.com").unwrap(),
                tcp,
            ),
    )
    .await
    .unwrap();
    let (mut sender, conn) = within(hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tls),
    ))
    .await
    .unwrap();
    tokio::spawn(conn);
    match within(sender.send_request(h2)).await {
        Ok(r) => assert_eq!(r.status(), 431),
        Err(e) => assert!(
            e.to_string().contains("stream") || e.to_string().contains("reset"),
            "{e}"
        ),
    }
    // A request with a 1 MiB body to a document: answered 405 without reading the body.
    let head = "POST /.well-known/matrix/server HTTP/1.1\r\nHost: example.com\r\nContent-Length: 1048576\r\n\r\n";
    let mut s = within(TcpStream::connect(server.plain())).await.unwrap();
    within(s.write_all(head.as_bytes())).await.unwrap();
    let _ = s.write_all(&[b'x'; 65536]).await;
    let mut answer = vec![0u8; 12];
    within(s.read_exact(&mut answer)).await.unwrap();
    assert_eq!(&answer, b"HTTP/1.1 405");
    assert_served(&pki, &server).await;
    server.stop().await;
}

#[tokio::test]
async fn garbage_truncated_hellos_and_plain_http_on_the_tls_port_are_closed() {
    let (pki, server) = start("[limits]\nhandshake_timeout_secs = 1").await;
    let client_hello_start = [
        0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
    ];
    for bytes in [
        &b"\x00\xff\x13\x37 garbage garbage garbage\r\n\r\n"[..],
        &client_hello_start[..],
        b"GET /.well-known/matrix/server HTTP/1.1\r\nHost: example.com\r\n\r\n",
    ] {
        let answer = raw::request(server.tls(), bytes).await;
        assert!(
            !answer.contains("m.server"),
            "no document over plain text: {answer:?}"
        );
    }
    let answer = raw::request(server.plain(), b"\x16\x03\x01\x00\x05hello").await;
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 400"),
        "{answer}"
    );
    assert_served(&pki, &server).await;
    server.stop().await;
}

/// CVE-2023-44487: a client opens streams and resets them at once, as fast as it can. hyper
/// and h2 bound what it can make us queue (streams in flight, pending resets); each reset
/// stream costs no more than one request, and other clients keep being answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rapid_reset_client_cannot_starve_others() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let (pki, server) = start("").await;
    let addr = server.tls();
    let resets = Arc::new(AtomicUsize::new(0));
    let attacker = {
        let config = common::client_config(&pki, rustls::ALL_VERSIONS, b"h2");
        let resets = resets.clone();
        tokio::spawn(async move {
            let tcp = TcpStream::connect(addr).await.unwrap();
            let name = rustls::pki_types::ServerName::try_from("example.com").unwrap();
            let tls = tokio_rustls::TlsConnector::from(config)
                .connect(name, tcp)
                .await
                .unwrap();
            let (client, connection) = h2::client::handshake(tls).await.unwrap();
            tokio::spawn(connection);
            let mut client = client.ready().await.unwrap();
            while resets.load(Ordering::Relaxed) < 20_000 {
                let req = http::Request::get("https://example.com/.well-known/matrix/server")
                    .body(())
                    .unwrap();
                let Ok((_response, mut stream)) = client.send_request(req, false) else {
                    break;
                };
                stream.send_reset(h2::Reason::CANCEL);
                resets.fetch_add(1, Ordering::Relaxed);
                let Ok(ready) = client.ready().await else {
                    break;
                };
                client = ready;
            }
        })
    };
    // Until the attack is in full swing (or the server already cut the attacker off).
    within(async {
        while resets.load(Ordering::Relaxed) < 1_000 && !attacker.is_finished() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    for _ in 0..20 {
        let (status, body) = server_document(&pki, addr, Via::H2, "example.com").await;
        assert_eq!((status, body.as_str()), OK);
    }
    let during = resets.load(Ordering::Relaxed);
    within(attacker).await.unwrap();
    eprintln!("normal client served 20 times while the attacker had sent {during} resets");
    assert_served(&pki, &server).await;
    server.stop().await;
}

#[tokio::test]
async fn connections_beyond_the_limit_wait_and_existing_ones_keep_working() {
    let (pki, server) = start("[limits]\nmax_connections = 3").await;
    let mut kept = common::h2_session(&pki, server.tls(), "example.com").await;
    let mut idle = Vec::new();
    for _ in 0..2 {
        idle.push(within(TcpStream::connect(server.plain())).await.unwrap());
    }
    // The fourth is accepted by the kernel but waits for a free slot.
    let mut waiting = within(TcpStream::connect(server.plain())).await.unwrap();
    within(waiting.write_all(b"GET /.well-known/matrix/server HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n")).await.unwrap();
    let mut first = [0u8; 12];
    assert!(
        tokio::time::timeout(Duration::from_millis(500), waiting.read_exact(&mut first))
            .await
            .is_err(),
        "served beyond the limit"
    );
    let (status, body) =
        common::session_get(&mut kept, "example.com", "/.well-known/matrix/server").await;
    assert_eq!(
        (status, body.as_str()),
        OK,
        "an open connection keeps working at the limit"
    );
    drop(idle.pop());
    within(waiting.read_exact(&mut first)).await.unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    drop((idle, kept));
    server.stop().await;
}

#[tokio::test]
async fn idle_connections_are_closed_after_the_idle_timeout() {
    let (pki, server) = start("[limits]\nidle_timeout_secs = 1\nheader_timeout_secs = 5").await;
    // HTTP/1.1 keep-alive: one request, then silence; closed at the idle timeout (1 s), not
    // the header timeout (5 s).
    let started = std::time::Instant::now();
    let mut s = within(TcpStream::connect(server.plain())).await.unwrap();
    within(s.write_all(b"GET /.well-known/matrix/server HTTP/1.1\r\nHost: example.com\r\n\r\n"))
        .await
        .unwrap();
    let answer = String::from_utf8_lossy(&until_closed(&mut s).await).into_owned();
    assert!(
        answer.starts_with("HTTP/1.1 200 OK") && answer.ends_with(OK.1),
        "{answer}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "closed by the idle timeout"
    );
    // HTTP/2: the connection ends (GOAWAY) once idle.
    let mut session = common::h2_session(&pki, server.tls(), "example.com").await;
    let (status, _) =
        common::session_get(&mut session, "example.com", "/.well-known/matrix/server").await;
    assert_eq!(status, 200);
    within(async {
        while session.ready().await.is_ok() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    server.stop().await;
}

/// Reads from `stream` until `n` complete answers to the server-document request arrived.
async fn answers<S: tokio::io::AsyncRead + Unpin>(stream: &mut S, n: usize) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while String::from_utf8_lossy(&got).matches(OK.1).count() < n {
        let read = within(stream.read(&mut buf)).await.unwrap();
        assert!(read > 0, "closed after {:?}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..read]);
    }
    String::from_utf8(got).unwrap()
}

/// A keep-alive HTTP/1.1 connection quiet for a tick is parked (hyper's buffers freed) and
/// resumed by the client's next bytes: whole requests, pipelined ones, and one split across a
/// pause all get their answers, over TLS and plain HTTP.
#[tokio::test]
async fn idle_keep_alive_connections_are_parked_and_resumed() {
    // header timeout 1 s: the tick is 250 ms, so 700 ms of silence parks a connection.
    let (pki, server) = start("[limits]\nheader_timeout_secs = 1\nidle_timeout_secs = 10").await;
    let get = "GET /.well-known/matrix/server HTTP/1.1\r\nHost: example.com\r\n\r\n";
    let pause = || tokio::time::sleep(Duration::from_millis(700));
    for tls in [false, true] {
        // Connected when used: an open connection that sends nothing hits the header timeout.
        let tcp = within(TcpStream::connect(if tls {
            server.tls()
        } else {
            server.plain()
        }));
        let tcp = tcp.await.unwrap();
        let mut s: Box<dyn Stream> = match tls {
            false => Box::new(tcp),
            true => {
                let config = common::client_config(&pki, rustls::ALL_VERSIONS, b"http/1.1");
                let name = rustls::pki_types::ServerName::try_from("example.com").unwrap();
                let connect = tokio_rustls::TlsConnector::from(config).connect(name, tcp);
                Box::new(within(connect).await.unwrap())
            }
        };
        within(s.write_all(get.as_bytes())).await.unwrap();
        assert!(answers(&mut s, 1).await.starts_with("HTTP/1.1 200 OK"));
        assert_eq!(parked(&server), 0, "busy a moment ago: not parked yet");
        pause().await;
        assert_eq!(parked(&server), 1, "quiet for a tick: parked");
        within(s.write_all(get.repeat(2).as_bytes())).await.unwrap();
        assert_eq!(
            answers(&mut s, 2).await.matches("HTTP/1.1 200 OK").count(),
            2
        );
        pause().await;
        let (head, tail) = get.split_at(20);
        within(s.write_all(head.as_bytes())).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        within(s.write_all(tail.as_bytes())).await.unwrap();
        assert!(answers(&mut s, 1).await.starts_with("HTTP/1.1 200 OK"));
        assert_eq!(parked(&server), 0, "resumed");
    }
    // Stopping the daemon closes a parked connection at once, not at its idle timeout (10 s).
    let mut parked = within(TcpStream::connect(server.plain())).await.unwrap();
    within(parked.write_all(get.as_bytes())).await.unwrap();
    answers(&mut parked, 1).await;
    pause().await;
    let started = std::time::Instant::now();
    server.stop().await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(until_closed(&mut parked).await.is_empty());
}

/// `wellknownd_parked_connections`, as the metrics listener would show it.
fn parked(server: &TestServer) -> i64 {
    let text = server.metrics.render();
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("wellknownd_parked_connections "));
    line.and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{text}"))
}

trait Stream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Stream for T {}

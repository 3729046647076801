//! Requests that break HTTP's rules, over real connections: what hyper rejects before any
//! service sees it (a malformed request line or header: 400; a head over
//! `limits.max_header_bytes`: 431) and what the router rejects (RFC 9112 §3.2's Host rules,
//! a target that is not a path, an HTTP/2 header list over the limit). Every answer carries
//! the CORS set and a Matrix error body, so a browser sees a status, not a network error.

mod common;

use common::{COMMON, Pki, TestServer, Via, raw, within};

async fn start() -> (Pki, TestServer) {
    let pki = Pki::new();
    pki.leaf("example", &["example.com"]);
    let config = "[listen]\nhttps = [\"127.0.0.1:0\"]\nhttp = [\"127.0.0.1:0\"]\n[limits]\nmax_header_bytes = 8192\n\
        [tls]\ncertificate = \"example.crt\"\nprivate_key = \"example.key\"\n\
        [[domain]]\nname = \"example.com\"\nserver = \"matrix.example.com:443\"\n";
    let server = TestServer::start(&pki, config).await;
    (pki, server)
}

/// An HTTP/1.1 answer taken apart: status, headers (name lowercase, in order), body.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

fn parse(raw: &str) -> Answer {
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("{raw:?}"));
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap()[9..12].parse().unwrap();
    let headers = lines
        .map(|l| {
            let (k, v) = l.split_once(": ").unwrap();
            (k.to_ascii_lowercase(), v.to_owned())
        })
        .collect();
    Answer {
        status,
        headers,
        body: body.to_owned(),
    }
}

/// Every header of an error answer that ends the connection: the common set, JSON, the
/// length of `body`, `connection: close` and one `date`; and the Matrix error body.
fn assert_error(raw: &str, status: u16, errcode: &str) {
    let a = parse(raw);
    assert_eq!(a.status, status, "{raw}");
    let mut want: Vec<(String, String)> = COMMON
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    want.push(("content-type".into(), "application/json".into()));
    want.push(("content-length".into(), a.body.len().to_string()));
    want.push(("connection".into(), "close".into()));
    let mut got: Vec<(String, String)> = a
        .headers
        .iter()
        .filter(|(k, _)| k != "date")
        .cloned()
        .collect();
    want.sort();
    got.sort();
    assert_eq!(got, want, "{raw}");
    assert_eq!(
        a.headers.iter().filter(|(k, _)| k == "date").count(),
        1,
        "{raw}"
    );
    let body: serde_json::Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(body["errcode"], errcode, "{raw}");
    assert!(body["error"].is_string());
}

/// hyper's own 400 and 431, which no service sees, reach the client as ours: over plain
/// HTTP and over TLS.
#[tokio::test]
async fn what_hyper_rejects_itself_carries_cors() {
    let (pki, server) = start().await;
    let big = format!(
        "GET /.well-known/matrix/client HTTP/1.1\r\nHost: example.com\r\nX-Big: {}\r\n\r\n",
        "a".repeat(10_000)
    );
    let malformed: [&[u8]; 3] = [
        b"GET /.well-known/matrix/client HTTP/1.1\r\nHost example.com\r\n\r\n",
        b"GET /\x01 HTTP/1.1\r\nHost: example.com\r\n\r\n",
        b"G(ET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
    ];
    for tls in [false, true] {
        let send = async |bytes: &[u8]| match tls {
            false => raw::request(server.plain(), bytes).await,
            true => raw::tls_request(&pki, server.tls(), bytes).await,
        };
        assert_error(&send(big.as_bytes()).await, 431, "M_TOO_LARGE");
        for bytes in malformed {
            assert_error(&send(bytes).await, 400, "M_UNRECOGNIZED");
        }
    }
    server.stop().await;
}

/// RFC 9112 §3.2 on the wire: no Host, or two, is a 400 (with CORS), on a keep-alive
/// connection that goes on serving; so is `GET *`.
#[tokio::test]
async fn host_rules_and_targets_on_the_wire() {
    let (_pki, server) = start().await;
    let ok =
        "GET /.well-known/matrix/server HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n";
    for bad in [
        "GET /.well-known/matrix/server HTTP/1.1\r\n\r\n",
        "GET /.well-known/matrix/server HTTP/1.1\r\nHost: example.com\r\nHost: example.com\r\n\r\n",
        "GET /.well-known/matrix/server HTTP/1.1\r\nHost: example.com/x\r\n\r\n",
        "GET * HTTP/1.1\r\nHost: example.com\r\n\r\n",
    ] {
        let answers = raw::request(server.plain(), format!("{bad}{ok}").as_bytes()).await;
        let (first, second) =
            answers.split_at(answers.find("HTTP/1.1 200").unwrap_or(answers.len()));
        let a = parse(first);
        assert_eq!(a.status, 400, "{bad:?}: {first}");
        for (k, v) in COMMON {
            assert!(
                a.headers.contains(&(k.to_string(), v.to_string())),
                "{first}"
            );
        }
        assert!(
            a.body.starts_with(r#"{"errcode":"M_UNRECOGNIZED""#),
            "{first}"
        );
        assert!(
            second.ends_with(r#"{"m.server":"matrix.example.com:443"}"#),
            "{second}"
        );
    }
    // HTTP/1.0 may leave Host out: the single domain answers.
    let answer = raw::request(
        server.plain(),
        b"GET /.well-known/matrix/server HTTP/1.0\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.0 200 OK\r\n"), "{answer}");
    server.stop().await;
}

/// An HTTP/2 header list over the limit gets the router's 431 with CORS, and the connection
/// goes on.
#[tokio::test]
async fn oversized_http2_header_lists_get_431_with_cors() {
    let (pki, server) = start().await;
    let big = "a".repeat(10_000);
    let req = common::request(
        "GET",
        "example.com",
        "/.well-known/matrix/server",
        &[("x-big", &big)],
    );
    let r = common::send(&pki, server.tls(), Via::H2, "example.com", req).await;
    assert_eq!(r.status, 431);
    let length = r.body.len().to_string();
    let mut expected = COMMON.to_vec();
    expected.extend([
        ("content-type", "application/json"),
        ("content-length", &length),
    ]);
    r.assert_headers(&expected);
    assert!(
        r.text().starts_with(r#"{"errcode":"M_TOO_LARGE""#),
        "{}",
        r.text()
    );
    let mut session = common::h2_session(&pki, server.tls(), "example.com").await;
    let (status, _) =
        common::session_get(&mut session, "example.com", "/.well-known/matrix/server").await;
    assert_eq!(status, 200);
    drop(within(async { session }).await);
    server.stop().await;
}

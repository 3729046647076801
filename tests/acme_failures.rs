//! An ACME CA that fails: it vanishes mid-renewal, or rejects every nonce. The attempt
//! backs off, the current certificate (or none, cleanly) keeps serving, the daemon runs on.

mod common;

use common::acme::{ORDER, Setup, assert_served, rewrite_renew_before};
use common::pebble;
use common::{Pki, kill};

/// The CA goes away in the middle of a renewal: the attempt fails with a back-off, the
/// current certificate keeps serving, the daemon keeps running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_that_vanishes_mid_renewal_leaves_the_current_certificate_serving() {
    let setup = Setup::new();
    let (mut pebble, root, before) = setup.with_certificates().await;

    let config = rewrite_renew_before(&setup, &pebble, 365);
    let mut daemon = setup.daemon(&config);
    daemon.line("acme: renewing a certificate for a.test");
    pebble.stop();
    let failed = daemon.line_within("acme: renewing for a.test failed (attempt 1)", ORDER);
    assert!(
        failed.contains("the current certificate keeps serving"),
        "{failed}"
    );
    assert!(failed.contains("retrying at"), "{failed}");
    daemon.line_within("acme: renewing for b.test failed (attempt 1)", ORDER);
    assert_eq!(assert_served(&setup, &root).await, before);
    assert!(
        daemon.child.try_wait().unwrap().is_none(),
        "the daemon is still running"
    );
    let status = std::fs::read_to_string(setup.pki.path("state/status.json")).unwrap();
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    let a = &status["domains"]["a.test"];
    assert_eq!(a["orders_ok"], 1, "{status}");
    assert_eq!(a["orders_failed"], 1, "{status}");
    let next = a["next_attempt"].as_i64().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(
        (30..=70).contains(&(next - now)),
        "first retry a minute later, not {}s",
        next - now
    );
}

/// A CA that rejects every nonce: the first order fails and backs off; the names wait, and
/// their handshakes fail cleanly while everything else keeps answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_rejecting_every_nonce_backs_off_and_the_names_wait_without_a_certificate() {
    let setup = Setup::new();
    let pebble = setup.pebble(&[("PEBBLE_WFE_NONCEREJECT", "100")]).await;
    let root = pebble.root(&setup.pki).await;
    let config = rewrite_renew_before(&setup, &pebble, 30);
    let mut daemon = setup.daemon(&config);
    let failed = daemon.line_within("acme: ordering for a.test failed (attempt 1)", ORDER);
    assert!(
        failed.contains("still waiting for the first certificate"),
        "{failed}"
    );
    let refused = pebble::get(&root, setup.https(), "a.test", "/.well-known/matrix/server").await;
    assert!(
        refused.is_err(),
        "no certificate yet, so no handshake: {refused:?}"
    );
    let health = common::raw::request(
        format!("127.0.0.1:{}", setup.http).parse().unwrap(),
        b"GET /healthz HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(health.starts_with("HTTP/1.1 200 OK\r\n"), "{health}");
    let check = common::acme::check(&config);
    let waiting = format!(
        "  certificate: waiting for a certificate for a.test from {}",
        pebble.directory()
    );
    assert!(check.contains(&waiting), "{check}");
    assert!(
        daemon.child.try_wait().unwrap().is_none(),
        "the daemon is still running"
    );
}

/// A "CA" on loopback, HTTPS with the test CA's certificate, that answers every request with
/// `answer` (or, with `None`, accepts and never says anything).
async fn fake_ca(pki: &Pki, answer: Option<&'static str>) -> std::net::SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(common::server_tls(pki, &["127.0.0.1"]));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((tcp, _)) = listener.accept().await {
            let Some(answer) = answer else {
                held.push(tcp);
                continue;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buf = [0u8; 4096];
                let _ = tls.read(&mut buf).await;
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                    answer.len()
                );
                let _ = tls.write_all(reply.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    addr
}

/// A directory that is not JSON: the attempt fails with that reason and backs off; a CA that
/// accepts the connection and then says nothing holds only the ACME client, while the
/// daemon answers at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_answers_and_a_hung_ca_never_reach_the_serving_path() {
    let setup = Setup::new();
    let garbage = fake_ca(&setup.pki, Some("{\"newNonce\": [1, 2")).await;
    let config = setup.config_at(&format!("https://{garbage}/dir"), "tls-alpn-01", 30);
    let mut daemon = setup.daemon(&config);
    let failed = daemon.line_within("acme: ordering for a.test failed (attempt 1)", ORDER);
    assert!(failed.contains("JSON"), "{failed}");
    assert!(
        daemon.child.try_wait().unwrap().is_none(),
        "the daemon is still running"
    );
    kill("TERM", daemon.child.id());
    daemon.wait();
    drop(daemon);

    let hung = fake_ca(&setup.pki, None).await;
    let config = setup.config_at(&format!("https://{hung}/dir"), "tls-alpn-01", 30);
    let mut daemon = setup.daemon(&config);
    daemon.line("acme: ordering a certificate for a.test");
    let redirect: std::net::SocketAddr = format!("127.0.0.1:{}", setup.http).parse().unwrap();
    for _ in 0..20 {
        let answer = common::raw::request(
            redirect,
            b"GET /healthz HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let log = daemon.seen_lines().join("\n");
    assert!(
        !log.contains("acme: ordering for a.test failed"),
        "the hung CA answered:\n{log}"
    );
}

//! Certificates from a real ACME CA (Debian's pebble on loopback): obtained with TLS-ALPN-01
//! and HTTP-01 by the daemon itself, served, reused across restarts, renewed under load.

mod common;

use common::acme::{NAMES, ORDER, Setup, assert_served, rewrite_renew_before};
use common::kill;
use common::pebble;

async fn obtain_and_restart(challenge: &str) {
    let setup = Setup::new();
    let pebble = setup.pebble(&[]).await;
    let root = pebble.root(&setup.pki).await;
    let config = setup.config(&pebble, challenge, 30);
    let mut daemon = setup.daemon(&config);
    daemon.line_within("acme: obtained a certificate for a.test", ORDER);
    daemon.line_within("acme: obtained a certificate for b.test", ORDER);
    let first = assert_served(&setup, &root).await;
    assert_ne!(first[0], first[1], "one certificate per name");
    let state = setup.pki.path("state");
    for file in [
        "account.json",
        "certificates/a.test.pem",
        "certificates/b.test.pem",
    ] {
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(state.join(file)).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&state).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o700);

    // The server reads the client's status (and so the order counts) within a second of it
    // being written, which may be after the certificate itself was picked up.
    let mut wanted: Vec<String> = Vec::new();
    for n in NAMES {
        for (result, count) in [("ok", 1), ("failed", 0)] {
            wanted.push(format!(
                "wellknownd_acme_orders_total{{domain=\"{n}\",result=\"{result}\"}} {count}\n"
            ));
        }
        wanted.push(format!(
            "wellknownd_certificate_expiry_seconds{{key=\"acme {n}\",path=\"{}/state/certificates/{n}.pem\"}}",
            setup.pki.dir.path().display()
        ));
    }
    let metrics_at = format!("127.0.0.1:{}", setup.metrics).parse().unwrap();
    let deadline = std::time::Instant::now() + common::TIMEOUT;
    loop {
        let get = b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        let metrics = common::raw::request(metrics_at, get).await;
        match wanted.iter().find(|w| !metrics.contains(w.as_str())) {
            None => break,
            Some(missing) if std::time::Instant::now() > deadline => {
                panic!("{missing} not in {metrics}")
            }
            Some(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
    let check = common::acme::check(&config);
    let source = format!("  certificate: ACME from {}, issued ", pebble.directory());
    assert_eq!(check.matches(&source).count(), 2, "{check}");
    assert!(check.contains(", renews "), "{check}");

    kill("TERM", daemon.child.id());
    daemon.wait();
    drop(daemon);
    let mut again = setup.daemon(&config);
    let second = assert_served(&setup, &root).await;
    assert_eq!(first, second, "a restart serves the stored certificates");
    kill("TERM", again.child.id());
    again.wait();
    let log = again.seen_lines().join("\n");
    assert!(
        !log.contains("acme: ordering"),
        "a restart ordered again:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_alpn_01_certificates_for_two_names_are_obtained_served_and_reused_after_a_restart() {
    obtain_and_restart("tls-alpn-01").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_01_certificates_for_two_names_are_obtained_served_and_reused_after_a_restart() {
    obtain_and_restart("http-01").await;
}

/// `renew_before_days` above pebble's validity forces a renewal at start: while a client
/// fetches the document on fresh connections in a loop, the certificate changes and not one
/// request fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forced_renewal_under_a_request_loop_changes_the_certificate_without_a_failed_request() {
    let setup = Setup::new();
    let (pebble, root, before) = setup.with_certificates().await;

    let config = rewrite_renew_before(&setup, &pebble, 365);
    let mut daemon = setup.daemon(&config);
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let (addr, loop_root) = (setup.https(), root.clone());
    let requests = tokio::spawn(async move {
        let (mut ok, mut failed, mut leaves) = (0u32, Vec::new(), Vec::new());
        let deadline = std::time::Instant::now() + ORDER * 2;
        while !*stopped.borrow_and_update() && std::time::Instant::now() < deadline {
            match pebble::get(&loop_root, addr, "a.test", "/.well-known/matrix/server").await {
                Ok((200, body, leaf)) if body == "{\"m.server\":\"matrix.a.test:443\"}" => {
                    ok += 1;
                    if leaves.last() != Some(&leaf) {
                        leaves.push(leaf);
                    }
                }
                other => failed.push(format!("{other:?}")),
            }
        }
        (ok, failed, leaves)
    });
    daemon.line_within("acme: obtained a certificate for a.test", ORDER);
    daemon.line_within("acme: obtained a certificate for b.test", ORDER);
    // The server swaps within a second of the client's status change.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    stop.send(true).unwrap();
    let (ok, failed, leaves) = common::within(requests).await.unwrap();
    assert!(
        failed.is_empty(),
        "{} requests failed: {failed:?}",
        failed.len()
    );
    assert_eq!(
        leaves.len(),
        2,
        "the old certificate, then the renewed one ({ok} requests)"
    );
    assert_eq!(leaves[0].to_vec(), before[0]);
    assert_ne!(leaves[1].to_vec(), before[0]);
    daemon.line("loaded renewed");
}

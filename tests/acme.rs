//! Certificates from a real ACME CA (Debian's pebble on loopback): obtained with TLS-ALPN-01
//! and HTTP-01 by the daemon itself, served, reused across restarts, renewed under load, and
//! a CA that fails leaves the current certificate serving.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::pebble::{self, Pebble, free_port};
use common::{Daemon, Pki, kill};

const BIN: &str = env!("CARGO_BIN_EXE_wellknownd");
/// An order from pebble takes a second or two on loopback; this leaves room for a loaded CI.
const ORDER: std::time::Duration = std::time::Duration::from_secs(60);
const NAMES: [&str; 2] = ["a.test", "b.test"];

struct Setup {
    pki: Pki,
    https: u16,
    http: u16,
    metrics: u16,
}

impl Setup {
    fn new() -> Setup {
        Setup {
            pki: Pki::new(),
            https: free_port(),
            http: free_port(),
            metrics: free_port(),
        }
    }

    /// The config: both names from `pebble` with `challenge`, documents for each.
    fn config(&self, pebble: &Pebble, challenge: &str, renew_before_days: u32) -> PathBuf {
        self.pki.write("ca.pem", &self.pki.ca_pem);
        let mut text = format!(
            "certificate_check_secs = 1\n[metrics]\nlisten = \"127.0.0.1:{}\"\n[listen]\nhttps = [\"127.0.0.1:{}\"]\nredirect_http = [\"127.0.0.1:{}\"]\n\
             [acme]\ndirectory = \"{}\"\nterms_of_service_agreed = true\nchallenge = \"{challenge}\"\n\
             ca_certificate = \"ca.pem\"\nstate_dir = \"state\"\nrenew_before_days = {renew_before_days}\n",
            self.metrics,
            self.https,
            self.http,
            pebble.directory()
        );
        for n in NAMES {
            text.push_str(&format!(
                "[[domain]]\nname = \"{n}\"\nserver = \"matrix.{n}:443\"\n"
            ));
        }
        self.pki.write("config.toml", &text)
    }

    fn daemon(&self, config: &PathBuf) -> Daemon {
        let mut d = Daemon::start(Command::new(BIN).arg("--config").arg(config));
        d.line("listening on redirect_http://");
        d
    }

    fn https(&self) -> std::net::SocketAddr {
        format!("127.0.0.1:{}", self.https).parse().unwrap()
    }
}

/// Both documents served over a certificate from pebble, for each name.
async fn assert_served(
    setup: &Setup,
    root: &rustls::pki_types::CertificateDer<'static>,
) -> Vec<Vec<u8>> {
    let mut leaves = Vec::new();
    for n in NAMES {
        let (status, body, leaf) =
            pebble::until_served(root, setup.https(), n, "/.well-known/matrix/server").await;
        assert_eq!(status, 200);
        assert_eq!(body, format!("{{\"m.server\":\"matrix.{n}:443\"}}"));
        leaves.push(leaf.to_vec());
    }
    leaves
}

async fn obtain_and_restart(challenge: &str) {
    let setup = Setup::new();
    let pebble = Pebble::start(
        &setup.pki,
        &NAMES,
        setup.http,
        setup.https,
        90 * 86_400,
        &[],
    )
    .await;
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

    let metrics = common::raw::request(
        format!("127.0.0.1:{}", setup.metrics).parse().unwrap(),
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    for n in NAMES {
        for (result, count) in [("ok", 1), ("failed", 0)] {
            let line = format!(
                "wellknownd_acme_orders_total{{domain=\"{n}\",result=\"{result}\"}} {count}\n"
            );
            assert!(metrics.contains(&line), "{line} in {metrics}");
        }
        let expiry = format!(
            "wellknownd_certificate_expiry_seconds{{key=\"acme {n}\",path=\"{}/state/certificates/{n}.pem\"}}",
            setup.pki.dir.path().display()
        );
        assert!(metrics.contains(&expiry), "{expiry} in {metrics}");
    }
    let check = Command::new(BIN)
        .args(["check", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let check = String::from_utf8_lossy(&check.stdout);
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

/// The config with another `renew_before_days`.
fn rewrite_renew_before(setup: &Setup, pebble: &Pebble, days: u32) -> PathBuf {
    setup.config(pebble, "tls-alpn-01", days)
}

/// `renew_before_days` above pebble's validity forces a renewal at start: while a client
/// fetches the document on fresh connections in a loop, the certificate changes and not one
/// request fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forced_renewal_under_a_request_loop_changes_the_certificate_without_a_failed_request() {
    let setup = Setup::new();
    let pebble = Pebble::start(
        &setup.pki,
        &NAMES,
        setup.http,
        setup.https,
        90 * 86_400,
        &[],
    )
    .await;
    let root = pebble.root(&setup.pki).await;
    let config = rewrite_renew_before(&setup, &pebble, 30);
    let mut daemon = setup.daemon(&config);
    daemon.line_within("acme: obtained a certificate for b.test", ORDER);
    let before = assert_served(&setup, &root).await;
    kill("TERM", daemon.child.id());
    daemon.wait();
    drop(daemon);

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

/// The CA goes away in the middle of a renewal: the attempt fails with a back-off, the
/// current certificate keeps serving, the daemon keeps running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_that_vanishes_mid_renewal_leaves_the_current_certificate_serving() {
    let setup = Setup::new();
    let mut pebble = Pebble::start(
        &setup.pki,
        &NAMES,
        setup.http,
        setup.https,
        90 * 86_400,
        &[],
    )
    .await;
    let root = pebble.root(&setup.pki).await;
    let config = rewrite_renew_before(&setup, &pebble, 30);
    let mut daemon = setup.daemon(&config);
    daemon.line_within("acme: obtained a certificate for b.test", ORDER);
    let before = assert_served(&setup, &root).await;
    kill("TERM", daemon.child.id());
    daemon.wait();
    drop(daemon);

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
    let pebble = Pebble::start(
        &setup.pki,
        &NAMES,
        setup.http,
        setup.https,
        90 * 86_400,
        &[("PEBBLE_WFE_NONCEREJECT", "100")],
    )
    .await;
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
    assert!(
        daemon.child.try_wait().unwrap().is_none(),
        "the daemon is still running"
    );
}

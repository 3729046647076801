//! Two certificates for one name, an ECDSA and an RSA pair (`certificates = [...]`), as
//! nginx's two `ssl_certificate` lines: each client gets the one it can verify, the cheaper
//! ECDSA one whenever it can, over TLS 1.3 and TLS 1.2; and the mistakes are refused.

mod common;

use std::sync::Arc;

use common::{Pki, TestServer, within};
use rustls::SupportedProtocolVersion;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

const CONFIG: &str = "[listen]\nhttps = [\"127.0.0.1:0\"]\n[tls]\ncertificates = [\n  \
    { certificate = \"ec.crt\", private_key = \"ec.key\" },\n  \
    { certificate = \"rsa.crt\", private_key = \"rsa.key\" },\n]\n\
    [[domain]]\nname = \"example.com\"\nserver = \"matrix.example.com:443\"\n";

/// What a client sees: the leaf the server sent, and the suite agreed.
struct Seen {
    leaf: CertificateDer<'static>,
    suite: String,
}

/// One handshake with `provider` (its suites are the ones offered), `version`, and RSA
/// schemes alone when `rsa_only`.
async fn handshake(
    pki: &Pki,
    server: &TestServer,
    provider: CryptoProvider,
    version: &'static SupportedProtocolVersion,
    rsa_only: bool,
) -> Seen {
    let suites = provider.cipher_suites.len();
    let provider = Arc::new(provider);
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca.clone()).unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[version])
        .unwrap();
    let config = common::rsa_only_client(builder, roots, provider, rsa_only);
    let tcp = within(TcpStream::connect(server.tls())).await.unwrap();
    let name = ServerName::try_from("example.com").unwrap();
    let tls = within(TlsConnector::from(Arc::new(config)).connect(name, tcp))
        .await
        .unwrap_or_else(|e| {
            panic!("{version:?}, RSA schemes only: {rsa_only}, {suites} suites: {e}")
        });
    let (_, conn) = tls.get_ref();
    Seen {
        leaf: conn.peer_certificates().unwrap()[0].clone().into_owned(),
        suite: format!("{:?}", conn.negotiated_cipher_suite().unwrap().suite()),
    }
}

/// The provider offering only the TLS 1.2 suites of one key type, as an old client
/// without TLS 1.3 does (`openssl s_client -no_tls1_3 -cipher ECDHE-RSA-AES128-GCM-SHA256`).
fn tls12_suites_for(prefix: &str) -> CryptoProvider {
    let mut provider = common::provider();
    provider
        .cipher_suites
        .retain(|s| format!("{:?}", s.suite()).starts_with(prefix));
    provider
}

fn leaf(pki: &Pki, stem: &str) -> CertificateDer<'static> {
    CertificateDer::from_pem_file(pki.path(&format!("{stem}.crt"))).unwrap()
}

#[tokio::test]
async fn each_client_gets_the_certificate_it_can_verify() {
    let pki = Pki::new();
    pki.leaf("ec", &["example.com"]);
    pki.rsa_leaf("rsa", &["example.com"]);
    let server = TestServer::start(&pki, CONFIG).await;
    let (ec, rsa) = (leaf(&pki, "ec"), leaf(&pki, "rsa"));
    let (v13, v12) = (&rustls::version::TLS13, &rustls::version::TLS12);

    let default = common::provider;
    let cases = [
        (
            "TLS 1.3, every scheme",
            default(),
            v13,
            false,
            &ec,
            "TLS13_",
        ),
        (
            "TLS 1.3, RSA schemes only",
            default(),
            v13,
            true,
            &rsa,
            "TLS13_",
        ),
        (
            "TLS 1.2, every scheme",
            default(),
            v12,
            false,
            &ec,
            "TLS_ECDHE_ECDSA_",
        ),
        (
            "TLS 1.2, RSA schemes only",
            default(),
            v12,
            true,
            &rsa,
            "TLS_ECDHE_RSA_",
        ),
        // ECDSA schemes offered but only RSA suites: the ECDSA certificate would leave no
        // suite (rustls drops the schemes no common suite can use before the resolver).
        (
            "TLS 1.2, RSA suites only",
            tls12_suites_for("TLS_ECDHE_RSA_"),
            v12,
            false,
            &rsa,
            "TLS_ECDHE_RSA_",
        ),
        (
            "TLS 1.2, ECDSA suites only",
            tls12_suites_for("TLS_ECDHE_ECDSA_"),
            v12,
            false,
            &ec,
            "TLS_ECDHE_ECDSA_",
        ),
    ];
    for (what, provider, version, rsa_only, expected, suite) in cases {
        let seen = handshake(&pki, &server, provider, version, rsa_only).await;
        let got = if seen.leaf == ec { "ECDSA" } else { "RSA" };
        assert!(seen.leaf == *expected, "{what}: got the {got} certificate");
        assert!(seen.suite.starts_with(suite), "{what}: {}", seen.suite);
    }
    server.stop().await;
}

/// Loads `text` as the daemon does: the error, if any.
fn refused(pki: &Pki, text: &str) -> String {
    let path = pki.write("config.toml", text);
    let loaded = match wellknownd::config::load(&path) {
        Ok(loaded) => loaded,
        Err(e) => return e.to_string(),
    };
    match wellknownd::build::Built::new(loaded.config) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn two_pairs_of_one_type_and_mixed_forms_are_refused() {
    let pki = Pki::new();
    pki.leaf("ec", &["example.com"]);
    pki.leaf("ec2", &["example.com"]);
    let domain = "[[domain]]\nname = \"example.com\"\nserver = \"matrix.example.com:443\"\n";
    let e = refused(
        &pki,
        &format!(
            "[listen]\nhttps = [\"127.0.0.1:0\"]\n[tls]\ncertificates = [{{ certificate = \"ec.crt\", private_key = \"ec.key\" }}, {{ certificate = \"ec2.crt\", private_key = \"ec2.key\" }}]\n{domain}"
        ),
    );
    assert!(
        e.ends_with("tls.certificates: both pairs have ECDSA keys: list one ECDSA and one RSA pair, so each client gets the one it can verify"),
        "{e}"
    );
    let e = refused(
        &pki,
        &format!(
            "[listen]\nhttps = [\"127.0.0.1:0\"]\n[tls]\ncertificate = \"ec.crt\"\nprivate_key = \"ec.key\"\ncertificates = [{{ certificate = \"ec2.crt\", private_key = \"ec2.key\" }}]\n{domain}"
        ),
    );
    assert!(
        e.contains("tls: has both `certificate`/`private_key` and `certificates`"),
        "{e}"
    );
    let e = refused(
        &pki,
        &format!("[listen]\nhttps = [\"127.0.0.1:0\"]\n[tls]\ncertificate = \"ec.crt\"\n{domain}"),
    );
    assert!(
        e.contains("tls: needs both `certificate` and `private_key`"),
        "{e}"
    );
}

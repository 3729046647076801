//! `acme.key_type = "both"` against a real ACME CA (Debian's pebble on loopback): the daemon
//! orders an ECDSA and an RSA certificate for each name, stores them 0600, and serves each
//! client the one its handshake allows: ECDSA to a client that verifies it, RSA to one that
//! verifies only RSA; `check` names both. Only on aws-lc-rs (*ring* cannot generate RSA
//! keys): `.ci/run` runs it with `--no-default-features --features aws-lc-rs`.
#![cfg(feature = "aws-lc-rs")]

mod common;

use std::os::unix::fs::PermissionsExt;

use common::acme::{NAMES, ORDER, Setup};
use common::{kill, pebble};

/// The DER of the OIDs a leaf's SubjectPublicKeyInfo names: rsaEncryption (1.2.840.113549.1.1.1)
/// and id-ecPublicKey (1.2.840.10045.2.1).
const RSA_ENCRYPTION: &[u8] = &[6, 9, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 1, 1, 1];
const EC_PUBLIC_KEY: &[u8] = &[6, 7, 0x2a, 0x86, 0x48, 0xce, 0x3d, 2, 1];

fn has(der: &[u8], oid: &[u8]) -> bool {
    der.windows(oid.len()).any(|w| w == oid)
}

#[tokio::test(flavor = "multi_thread")]
async fn both_key_types_are_ordered_stored_and_each_client_gets_the_one_it_verifies() {
    let setup = Setup::new();
    let pebble = setup.pebble(&[]).await;
    let root = pebble.root(&setup.pki).await;
    let config = setup.config(&pebble, "tls-alpn-01", 30);
    let text = std::fs::read_to_string(&config).unwrap();
    let text = text.replace(
        "renew_before_days = 30\n",
        "renew_before_days = 30\nkey_type = \"both\"\n",
    );
    std::fs::write(&config, text).unwrap();
    let mut daemon = setup.daemon(&config);
    for n in NAMES {
        daemon.line_within(&format!("acme: obtained a certificate for {n} ("), ORDER);
        daemon.line_within(
            &format!("acme: obtained a certificate for {n} rsa-2048 ("),
            ORDER,
        );
    }
    for n in NAMES {
        let path = "/.well-known/matrix/server";
        let body = format!("{{\"m.server\":\"matrix.{n}:443\"}}");
        let (status, got, ecdsa) =
            pebble::until_served_as(&root, setup.https(), n, path, false).await;
        assert_eq!((status, got.as_str()), (200, body.as_str()));
        assert!(
            has(&ecdsa, EC_PUBLIC_KEY) && !has(&ecdsa, RSA_ENCRYPTION),
            "{n}: ECDSA leaf"
        );
        let (status, got, rsa) = pebble::until_served_as(&root, setup.https(), n, path, true).await;
        assert_eq!((status, got.as_str()), (200, body.as_str()));
        assert!(
            has(&rsa, RSA_ENCRYPTION) && !has(&rsa, EC_PUBLIC_KEY),
            "{n}: RSA leaf"
        );
    }
    let state = setup.pki.path("state");
    let mode = |p: &str| {
        std::fs::metadata(state.join(p))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("certificates/rsa-2048"), 0o700);
    for n in NAMES {
        assert_eq!(mode(&format!("certificates/{n}.pem")), 0o600);
        assert_eq!(mode(&format!("certificates/rsa-2048/{n}.pem")), 0o600);
    }
    let check = common::acme::check(&config);
    for key in ["ecdsa-p256", "rsa-2048"] {
        let source = format!("{key}: ACME from {}, issued ", pebble.directory());
        assert_eq!(check.matches(&source).count(), 2, "{check}");
    }
    kill("TERM", daemon.child.id());
    daemon.wait();
}

/// With `both`, a domain whose ECDSA certificate is stored but whose RSA one is not yet is
/// served with the ECDSA one meanwhile, and only the RSA one is waited for.
#[test]
fn a_missing_rsa_certificate_waits_while_the_ecdsa_one_serves() {
    let pki = common::Pki::new();
    let (cert, key) = pki.leaf("a", &["a.test"]);
    std::fs::create_dir_all(pki.path("state/certificates")).unwrap();
    let pem = std::fs::read_to_string(key).unwrap() + &std::fs::read_to_string(cert).unwrap();
    pki.write("state/certificates/a.test.pem", &pem);
    let built = common::load(
        &pki,
        "[listen]\nhttps = [\"127.0.0.1:0\"]\n[acme]\nterms_of_service_agreed = true\n\
         state_dir = \"state\"\nkey_type = \"both\"\n\
         [[domain]]\nname = \"a.test\"\nserver = \"matrix.a.test:443\"\n",
    );
    let keys = |paths: &mut dyn Iterator<Item = &wellknownd::config::TlsPaths>| {
        paths.map(|p| p.key.clone()).collect::<Vec<_>>()
    };
    assert_eq!(
        keys(&mut built.pairs.iter().map(|p| &p.paths)),
        ["acme a.test"]
    );
    assert_eq!(keys(&mut built.waiting.iter()), ["acme a.test rsa-2048"]);
}

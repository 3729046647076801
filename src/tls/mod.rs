//! TLS: certificate files ([`certs`]) loaded into a [`CertStore`] ([`mod@load`]), the SNI
//! choice among them ([`resolver`]), and the one rustls server config every TLS listener
//! shares. Knows the config's paths, nothing of HTTP or of what is served.

pub mod certs;
pub mod load;
pub mod report;
pub mod resolver;
pub use wellknownd_shared::roots;
pub mod store;
pub mod tickets;
pub mod x509;

use std::sync::Arc;

use rustls::{ServerConfig, SignatureScheme};

use crate::challenges::{ACME_TLS_ALPN, Pending};

pub use certs::Pair;
pub use load::{Loaded, load};
pub use store::{CertStore, Certs};

/// The server config for every TLS listener. It is built once: certificates are looked up in
/// the current [`CertStore`] on every handshake, so a reload changes them without touching
/// the listeners, and the session cache and ticket keys survive reloads.
pub fn server_config(
    certs: Certs,
    challenges: Pending,
) -> Result<Arc<ServerConfig>, rustls::Error> {
    let mut config = ServerConfig::builder_with_provider(certs::provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(resolver::Resolver::new(certs.clone(), challenges)));
    // `acme-tls/1` last: only a CA validating TLS-ALPN-01 offers it, and such a connection
    // ends after the handshake.
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec(), ACME_TLS_ALPN.to_vec()];
    // Our cipher-suite order (see `certs::provider`), not the client's.
    config.ignore_client_order = true;
    // Resumption makes repeat visitors cheap: stateless tickets (TLS 1.2 and 1.3), with the
    // keys of `tls.ticket_key_file` when configured, plus the default in-memory session cache
    // for clients that do not take tickets.
    let own = wellknownd_shared::ticketer()?;
    config.ticketer = Arc::new(tickets::Ticketer::new(certs, own));
    // One TLS 1.3 ticket per handshake, not rustls' default two: a client fetching a document
    // makes one connection at a time and gets a fresh ticket on each, so the second ticket is
    // work (an encryption and a write) for nothing. The A/B is in BENCHMARKS.md.
    config.send_tls13_tickets = 1;
    Ok(Arc::new(config))
}

/// Pays the crypto library's lazy initialisation (CPU feature detection, first key
/// generation, first signature with each key) before READY, so no client's handshake does.
pub fn warm_up(pairs: &[Pair]) {
    for group in certs::provider().kx_groups.iter() {
        let _ = group.start();
    }
    let schemes = [
        SignatureScheme::ECDSA_NISTP256_SHA256,
        SignatureScheme::ECDSA_NISTP384_SHA384,
        SignatureScheme::ED25519,
        SignatureScheme::RSA_PSS_SHA256,
    ];
    for pair in pairs {
        if let Some(signer) = pair.key.key.choose_scheme(&schemes) {
            let _ = signer.sign(b"warm-up");
        }
    }
}

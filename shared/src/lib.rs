//! What the daemon (`wellknownd`) and the probe (`wellknownd-probe`) both need, and nothing
//! else: a crate of its own so that the daemon links none of the probe (no DNS resolver, no
//! ruma) by construction, while both read the same rules.
//!
//! - [`names`]: the grammar of server names, domain names, base URLs and Matrix IDs.
//! - [`document`]: the documents and their paths.
//! - [`shapes`]: the shapes of the keys clients parse strictly (element.json, the client
//!   document's extras), for the daemon's config check and the probe's verdict alike.
//! - [`base64`], [`civil`]: Matrix's unpadded base64; dates without a date crate.
//! - [`roots`] and [`provider()`]: which CAs our TLS clients trust, and the one crypto provider;
//!   [`aead`]: AES-256-GCM from the same library (shared session-ticket keys).
#![forbid(unsafe_code)]

pub mod aead;
pub mod base64;
pub mod civil;
pub mod document;
pub mod names;
pub mod roots;
pub mod shapes;

use std::sync::{Arc, OnceLock};

use rustls::crypto::CryptoProvider;

/// The one crypto provider, named explicitly: with two providers linked, rustls refuses to
/// guess (and panics when asked for a default). *ring* unless built with the `aws-lc-rs`
/// feature (the benchmark's A/B build; BENCHMARKS.md says which ships and why).
///
/// Its cipher suites are reordered to put AES-128-GCM with SHA-256 first, and the server
/// config makes that order win over the client's: OpenSSL clients ask for AES-256-GCM with
/// SHA-384 first, whose key schedule runs on *ring*'s portable SHA-512 code, a large share of
/// a resumed handshake's CPU (the profile is in BENCHMARKS.md). AES-128-GCM is the first
/// choice of Mozilla's intermediate profile; the other suites stay available.
pub fn provider() -> Arc<CryptoProvider> {
    use provider::cipher_suite as cs;
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| {
            let mut provider = provider::default_provider();
            provider.cipher_suites = vec![
                cs::TLS13_AES_128_GCM_SHA256,
                cs::TLS13_CHACHA20_POLY1305_SHA256,
                cs::TLS13_AES_256_GCM_SHA384,
                cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
                cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
                cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
                cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
                cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
                cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            ];
            Arc::new(provider)
        })
        .clone()
}

/// The same provider with its own defaults (every suite), for clients: the probe, the tests,
/// the benchmark's client.
pub fn default_provider() -> rustls::crypto::CryptoProvider {
    provider::default_provider()
}

/// Whether the provider can generate RSA keys (`acme.key_type = "rsa-2048"`): aws-lc-rs can,
/// *ring* cannot.
pub const GENERATES_RSA: bool = cfg!(feature = "aws-lc-rs");

/// The session-ticket encrypter of the same provider.
pub fn ticketer() -> Result<Arc<dyn rustls::server::ProducesTickets>, rustls::Error> {
    provider::Ticketer::new()
}

#[cfg(not(feature = "aws-lc-rs"))]
use rustls::crypto::ring as provider;

#[cfg(feature = "aws-lc-rs")]
use rustls::crypto::aws_lc_rs as provider;

/// The provider's own library (`signature`, `rand`, `aead`: *ring*'s API, which aws-lc-rs
/// copies), for what is not TLS: the probe's Ed25519 checks, the ticket keys' AEAD.
#[cfg(feature = "aws-lc-rs")]
pub use aws_lc_rs as crypto;
#[cfg(not(feature = "aws-lc-rs"))]
pub use ring as crypto;

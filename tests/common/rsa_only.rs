//! A client that verifies only RSA signatures, as an old one does: the server must pick
//! its RSA certificate for it.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// A verifier that checks the chain as usual but tells the server it verifies only RSA
/// signatures: the ClientHello then offers RSA schemes alone, as an old client does.
#[derive(Debug)]
struct RsaOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for RsaOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        let rsa = |s: &SignatureScheme| format!("{s:?}").starts_with("RSA_");
        self.0
            .supported_verify_schemes()
            .into_iter()
            .filter(rsa)
            .collect()
    }
}

/// A client config trusting `roots`, as a client that verifies only RSA when `rsa_only`.
pub fn client(
    builder: rustls::ConfigBuilder<rustls::ClientConfig, rustls::WantsVerifier>,
    roots: rustls::RootCertStore,
    provider: Arc<rustls::crypto::CryptoProvider>,
    rsa_only: bool,
) -> rustls::ClientConfig {
    match rsa_only {
        false => builder.with_root_certificates(roots).with_no_client_auth(),
        true => {
            let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .unwrap();
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(RsaOnly(webpki)))
                .with_no_client_auth()
        }
    }
}

//! Which certificate authorities our clients trust (the probe, and the ACME client talking to
//! its CA): the system's bundle, as curl and Synapse do, or only the ones in a file the
//! operator names (`--ca FILE`, `acme.ca_certificate`: a private CA, a test setup).

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{ClientConfig, RootCertStore};

/// Where distributions keep the bundle (Debian/Ubuntu, Fedora/RHEL, Alpine/Arch, openSUSE);
/// `SSL_CERT_FILE` overrides, as for OpenSSL.
const BUNDLES: [&str; 4] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
    "/etc/ssl/ca-bundle.pem",
];

/// The client TLS settings: the daemon's crypto provider, TLS 1.2 and 1.3, HTTP/1.1.
pub fn client_config(ca: Option<&Path>) -> Result<Arc<ClientConfig>, String> {
    let roots = match ca {
        Some(path) => load(path)?,
        None => system()?,
    };
    let mut config = ClientConfig::builder_with_provider(crate::provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The subjects of the system's trusted roots (empty when there is no bundle), for `check`
/// to tell whether a chain ends at a root clients hold.
pub fn system_subjects() -> Vec<Vec<u8>> {
    system()
        .map(|roots| roots.roots.iter().map(|a| a.subject.to_vec()).collect())
        .unwrap_or_default()
}

fn system() -> Result<RootCertStore, String> {
    let env = std::env::var_os("SSL_CERT_FILE");
    let path = match &env {
        Some(p) => Path::new(p),
        None => BUNDLES
            .iter()
            .map(Path::new)
            .find(|p| p.exists())
            .ok_or("no system CA bundle found (install ca-certificates, or name a CA file: probe --ca FILE, acme.ca_certificate)")?,
    };
    load(path)
}

fn load(path: &Path) -> Result<RootCertStore, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(format!(
            "{}: no usable PEM certificate in it",
            path.display()
        ));
    }
    Ok(roots)
}

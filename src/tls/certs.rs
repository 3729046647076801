//! Loading a certificate chain and its key from PEM files, with the facts the operator should
//! hear about: when it expires, and which names it covers.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::ParsedCertificate;
use rustls::sign::CertifiedKey;

use crate::config::{self, TlsPaths};

/// Warn this long before a certificate expires: certbot renews at 30 days left, so 14 means
/// renewal has been failing for two weeks.
pub const EXPIRY_WARNING_SECS: i64 = 14 * 86_400;

pub use wellknownd_shared::provider;

/// What changes when a file is replaced: certbot renews by pointing the `live/` symlinks at
/// new files under `archive/`, so the target's inode and modification time change. Comparing
/// stamps costs one `stat()` per file, where re-reading would parse PEM every time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: i64,
    mtime_nsec: i64,
}

impl Stamp {
    /// The stamp of the file `path` leads to (symlinks followed); `None` if it is missing.
    pub fn of(path: &Path) -> Option<Stamp> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path).ok()?;
        Some(Stamp {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime: m.mtime(),
            mtime_nsec: m.mtime_nsec(),
        })
    }
}

/// A loaded, consistent certificate/key pair.
#[derive(Debug, Clone)]
pub struct Pair {
    pub key: Arc<CertifiedKey>,
    pub paths: TlsPaths,
    /// `notAfter` of the leaf, seconds since the epoch (`None` if it could not be read).
    pub not_after: Option<i64>,
    /// Certificate and key file as they were just before they were read.
    pub stamps: [Option<Stamp>; 2],
}

impl Pair {
    /// Reads both files; errors name `config`'s file and the `tls` key concerned.
    pub fn load(config: &Path, paths: &TlsPaths) -> Result<Pair, config::Error> {
        let err = |field: &str, file: &PathBuf, message: String| config::Error::Invalid {
            path: config.to_owned(),
            key: format!("{}.{field}", paths.key),
            message: format!("{}: {message}", file.display()),
        };
        let stamps = Pair::stamps_of(paths);
        let chain = read_chain(&paths.certificate)
            .map_err(|m| err("certificate", &paths.certificate, m))?;
        if let Some(fullchain) = leaf_of_certbot(&paths.certificate, &chain) {
            let message = format!(
                "is certbot's leaf certificate alone, without its intermediate: clients will not \
                 complete the chain; name {} instead",
                fullchain.display()
            );
            return Err(err("certificate", &paths.certificate, message));
        }
        let key =
            read_key(&paths.private_key).map_err(|m| err("private_key", &paths.private_key, m))?;
        let not_after = crate::tls::x509::not_after(&chain[0]);
        let cert = paths.certificate.display();
        let key = CertifiedKey::from_der(chain, key, &provider()).map_err(|e| {
            let message = match e {
                rustls::Error::InconsistentKeys(_) => {
                    format!("is not the key of {cert} (their public keys differ; mid-renewal, or the wrong file?)")
                }
                e => format!("cannot be used with {cert}: {e}"),
            };
            err("private_key", &paths.private_key, message)
        })?;
        Ok(Pair {
            key: Arc::new(key),
            paths: paths.clone(),
            not_after,
            stamps,
        })
    }

    fn stamps_of(paths: &TlsPaths) -> [Option<Stamp>; 2] {
        [Stamp::of(&paths.certificate), Stamp::of(&paths.private_key)]
    }

    /// Certificate and key file as they are now.
    pub fn stamps_now(&self) -> [Option<Stamp>; 2] {
        Pair::stamps_of(&self.paths)
    }

    /// Whether the certificate or key file changed since this pair was read.
    pub fn changed_on_disk(&self) -> bool {
        self.stamps_now() != self.stamps
    }

    /// Whether the leaf certificate is valid for `name` (SAN DNS names, wildcards included).
    pub fn covers(&self, name: &str) -> bool {
        let (Some(leaf), Ok(name)) = (self.key.cert.first(), ServerName::try_from(name)) else {
            return false;
        };
        ParsedCertificate::try_from(leaf)
            .and_then(|p| rustls::client::verify_server_name(&p, &name))
            .is_ok()
    }

    /// A warning when the certificate expires within [`EXPIRY_WARNING_SECS`] of `now`, and
    /// whether it has expired already.
    pub fn expiry_warning(&self, now: i64) -> Option<(bool, String)> {
        let left = self.not_after? - now;
        let file = self.paths.certificate.display();
        let at = crate::civil::format_utc(self.not_after?);
        if left <= 0 {
            Some((
                true,
                format!(
                    "{}.certificate: {file} EXPIRED at {at}: clients will refuse it",
                    self.paths.key
                ),
            ))
        } else if left < EXPIRY_WARNING_SECS {
            Some((
                false,
                format!(
                    "{}.certificate: {file} expires at {at}, in {} days: is renewal working?",
                    self.paths.key,
                    left / 86_400
                ),
            ))
        } else {
            None
        }
    }
}

/// certbot's `cert.pem` (the leaf alone) named where its `fullchain.pem` was meant: the
/// fullchain beside it, if so.
fn leaf_of_certbot(path: &Path, chain: &[CertificateDer<'_>]) -> Option<PathBuf> {
    let fullchain = path.with_file_name("fullchain.pem");
    (path.file_name()? == "cert.pem" && chain.len() == 1 && fullchain.exists()).then_some(fullchain)
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let chain = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(pem_message)?;
    if chain.is_empty() {
        return Err("contains no `BEGIN CERTIFICATE` block".into());
    }
    Ok(chain)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => {
            "contains no private key (`BEGIN PRIVATE KEY`, `BEGIN RSA PRIVATE KEY` or `BEGIN EC PRIVATE KEY`)".into()
        }
        e => pem_message(e),
    })
}

fn pem_message(e: rustls::pki_types::pem::Error) -> String {
    match e {
        rustls::pki_types::pem::Error::Io(io) => format!("cannot read: {io}"),
        e => format!("is not valid PEM: {e}"),
    }
}

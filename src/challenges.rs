//! ACME challenges being answered right now: HTTP-01 key authorizations by token, and
//! TLS-ALPN-01 certificates by name. The ACME client writes them under `state_dir`
//! (`challenges/http-01/<token>`, `challenges/tls-alpn-01/<name>.pem`), possibly from another
//! process; [`Watcher`] reads them into the [`Pending`] store that the redirect listener and
//! the SNI resolver read without a lock. A leaf: imports nothing of ours.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use bytes::Bytes;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;

/// The current [`Challenges`], swapped whole when the directory changes.
pub type Pending = Arc<ArcSwap<Challenges>>;

/// The ALPN protocol of TLS-ALPN-01 (RFC 8737 §6.2).
pub const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

/// At most this many of each kind are read: a client orders a handful of names at a time,
/// and a directory filled by mistake (or by someone) must not grow every poll without bound.
const MAX_PER_KIND: usize = 256;
/// A key authorization is a token and a thumbprint (under 200 bytes); a challenge
/// certificate with its key under 4 KiB. Larger files are not challenges and are skipped.
const MAX_FILE_BYTES: u64 = 16 * 1024;

#[derive(Debug, Default)]
pub struct Challenges {
    http: Vec<(Box<str>, Bytes)>,
    alpn: Vec<(Box<str>, Arc<CertifiedKey>)>,
}

impl Challenges {
    pub fn shared() -> Pending {
        Arc::new(ArcSwap::from_pointee(Challenges::default()))
    }

    /// The key authorization to answer `GET /.well-known/acme-challenge/<token>` with.
    pub fn http(&self, token: &str) -> Option<&Bytes> {
        self.http
            .iter()
            .find(|(t, _)| &**t == token)
            .map(|(_, k)| k)
    }

    /// The `acme-tls/1` certificate for `name`.
    pub fn alpn(&self, name: &str) -> Option<Arc<CertifiedKey>> {
        let name = name.strip_suffix('.').unwrap_or(name);
        let found = self.alpn.iter().find(|(n, _)| n.eq_ignore_ascii_case(name));
        found.map(|(_, k)| k.clone())
    }

    pub fn is_empty(&self) -> bool {
        self.http.is_empty() && self.alpn.is_empty()
    }

    /// Everything under `dir`; files that cannot be read or used are skipped (the client
    /// confirms through the listener that its challenge is answered before the CA looks).
    pub fn read(dir: &Path, provider: &Arc<CryptoProvider>) -> Challenges {
        let http = files(&dir.join("http-01"))
            .filter_map(|(name, path)| Some((name.into(), Bytes::from(read_small(&path)?))))
            .collect();
        let alpn = files(&dir.join("tls-alpn-01"))
            .filter_map(|(name, path)| {
                let name = name.strip_suffix(".pem")?;
                let pem = read_small(&path)?;
                let chain = CertificateDer::pem_slice_iter(&pem)
                    .collect::<Result<Vec<_>, _>>()
                    .ok()?;
                let key = PrivateKeyDer::from_pem_slice(&pem).ok()?;
                // Not `CertifiedKey::from_der`: its key check parses the certificate with
                // webpki, which refuses the critical acmeIdentifier extension.
                let key = provider.key_provider.load_private_key(key).ok()?;
                Some((name.into(), Arc::new(CertifiedKey::new(chain, key))))
            })
            .collect();
        Challenges { http, alpn }
    }
}

/// Regular files in `dir` whose names are plain (no dot first: temporary files of an atomic
/// write start with one), at most [`MAX_PER_KIND`].
fn files(dir: &Path) -> impl Iterator<Item = (String, PathBuf)> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| Some((e.file_name().into_string().ok()?, e.path())))
        .filter(|(name, _)| !name.starts_with('.'))
        .take(MAX_PER_KIND)
}

fn read_small(path: &Path) -> Option<Vec<u8>> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() > MAX_FILE_BYTES {
        return None;
    }
    std::fs::read(path).ok()
}

/// Re-reads the challenge directory when it changed: one `stat()` of each of its two
/// subdirectories per poll (an atomic write renames into them, which changes their mtime).
#[derive(Debug)]
pub struct Watcher {
    dir: PathBuf,
    seen: [Option<(i64, i64, u64)>; 2],
}

impl Watcher {
    pub fn new(dir: PathBuf) -> Watcher {
        Watcher {
            dir,
            seen: [None, None],
        }
    }

    /// Swaps a fresh [`Challenges`] into `pending` if either subdirectory changed.
    pub fn poll(&mut self, pending: &Pending, provider: &Arc<CryptoProvider>) {
        let now = [
            stamp(&self.dir.join("http-01")),
            stamp(&self.dir.join("tls-alpn-01")),
        ];
        if now == self.seen {
            return;
        }
        self.seen = now;
        pending.store(Arc::new(Challenges::read(&self.dir, provider)));
    }
}

fn stamp(dir: &Path) -> Option<(i64, i64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(dir).ok()?;
    Some((m.mtime(), m.mtime_nsec(), m.ino()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_the_client_writes() {
        let dir = tempfile::tempdir().unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["a.test".to_owned()]).unwrap();
        let acme_identifier = rcgen::CustomExtension::new_acme_identifier(&[7; 32]);
        params.custom_extensions = vec![acme_identifier];
        let cert = params.self_signed(&key).unwrap();
        std::fs::create_dir_all(dir.path().join("tls-alpn-01")).unwrap();
        std::fs::create_dir_all(dir.path().join("http-01")).unwrap();
        let pem = format!("{}{}", key.serialize_pem(), cert.pem());
        std::fs::write(dir.path().join("tls-alpn-01/a.test.pem"), pem).unwrap();
        std::fs::write(dir.path().join("http-01/tok_en-1"), "tok_en-1.thumb").unwrap();
        let provider = crate::tls::certs::provider();
        let read = Challenges::read(dir.path(), &provider);
        assert!(read.alpn("A.test.").is_some());
        assert!(read.alpn("b.test").is_none());
        assert_eq!(
            read.http("tok_en-1").map(|b| &b[..]),
            Some(&b"tok_en-1.thumb"[..])
        );
        let pending = Challenges::shared();
        let mut watcher = Watcher::new(dir.path().to_owned());
        watcher.poll(&pending, &provider);
        assert!(pending.load().alpn("a.test").is_some());
    }
}

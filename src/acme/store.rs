//! The state directory as the ACME client writes it: directory 0700, files 0600, every file
//! written atomically (a temporary file, fsync, rename, fsync of the directory), so the server
//! (perhaps another process) never reads half a certificate and a crash loses nothing. The
//! layout is [`Acme`]'s; the server reads it with `tls` and [`crate::challenges`].

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::config::{Acme, KeyType};

pub struct Store {
    acme: Acme,
    /// Held while this process orders: a second client on the same directory (the
    /// standalone daemon and `wellknownd acme` both enabled) waits instead of ordering twice.
    _lock: File,
}

impl Store {
    /// Creates the directories and takes the lock, waiting for it if another client has it.
    pub async fn open(acme: &Acme) -> std::io::Result<Store> {
        for dir in [
            acme.state_dir.clone(),
            acme.state_dir.join("certificates"),
            acme.challenges(),
            acme.challenges().join("http-01"),
            acme.challenges().join("tls-alpn-01"),
        ] {
            private_dir(&dir)?;
        }
        if acme.key_types.contains(&KeyType::Rsa2048) {
            private_dir(&acme.rsa_certificates())?;
        }
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(acme.state_dir.join("lock"))?;
        let lock = tokio::task::spawn_blocking(move || lock.lock().map(|()| lock))
            .await
            .map_err(std::io::Error::other)??;
        Ok(Store {
            acme: acme.clone(),
            _lock: lock,
        })
    }

    pub fn acme(&self) -> &Acme {
        &self.acme
    }

    /// A domain's certificate chain and key, in the one file the server loads.
    pub fn put_certificate(
        &self,
        name: &str,
        key: KeyType,
        chain_pem: &str,
        key_pem: &str,
    ) -> std::io::Result<()> {
        let mut pem = String::with_capacity(key_pem.len() + chain_pem.len() + 1);
        pem.push_str(key_pem.trim_end());
        pem.push('\n');
        pem.push_str(chain_pem);
        write_atomic(
            &self.acme.certificate(name, key).certificate,
            pem.as_bytes(),
        )
    }

    pub fn put_http(&self, token: &str, key_authorization: &str) -> std::io::Result<PathBuf> {
        let path = self.acme.challenges().join("http-01").join(token);
        write_atomic(&path, key_authorization.as_bytes())?;
        Ok(path)
    }

    pub fn put_alpn(&self, name: &str, pem: &str) -> std::io::Result<PathBuf> {
        let path = self
            .acme
            .challenges()
            .join("tls-alpn-01")
            .join(format!("{name}.pem"));
        write_atomic(&path, pem.as_bytes())?;
        Ok(path)
    }

    pub fn read(&self, path: &Path) -> Option<Vec<u8>> {
        fs::read(path).ok()
    }

    pub fn write(&self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        write_atomic(path, bytes)
    }
}

/// Creates `dir` 0700 if missing and tightens it if it is looser (it holds private keys).
fn private_dir(dir: &Path) -> std::io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let mode = fs::metadata(dir)?.permissions().mode();
    if mode & 0o077 != 0 {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Writes `bytes` to `path` so that readers see the old file or the new one, never a part.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let temporary = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(&temporary)?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    if let Err(e) = written.and_then(|()| fs::rename(&temporary, path)) {
        let _ = fs::remove_file(&temporary);
        return Err(e);
    }
    File::open(dir)?.sync_all()
}

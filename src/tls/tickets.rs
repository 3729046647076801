//! Session tickets several instances can all read (`tls.ticket_key_file`), like nginx's
//! `ssl_session_ticket_key`: behind a load balancer, a client resumed by one instance and
//! sent to another resumes there too instead of paying a full handshake. The first key of the
//! file encrypts; every key decrypts, so a rotation (a new key first, the old ones kept)
//! never breaks a ticket already handed out. Without the file, rustls' own rotating ticketer
//! of this process is used.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::server::ProducesTickets;
use wellknownd_shared::{aead, base64};

use super::certs::Stamp;
use super::store::Certs;

/// Keys a file may hold: enough for a rotation every few hours across a day, few enough that
/// trying them is no cost.
pub const MAX_KEYS: usize = 8;

/// How long a client may use a ticket (rustls' own ticketer allows 6 h): a key must stay in
/// the file at least this long after it stops being the first.
pub const LIFETIME_SECS: u32 = 6 * 3600;

/// Bytes of one key: a 16-byte name that tickets carry, then the 32-byte AES-256-GCM key.
const KEY_LEN: usize = 48;

/// The keys of one ticket key file as it was read.
#[derive(Debug)]
pub struct TicketKeys {
    pub path: PathBuf,
    pub stamp: Option<Stamp>,
    keys: Vec<([u8; 16], aead::Key)>,
}

impl TicketKeys {
    /// Reads `path`: one key per line, the base64 of 48 random bytes
    /// (`openssl rand -base64 48`), `#` comments and blank lines ignored; readable by its
    /// owner alone, as anyone who reads it can decrypt every resumed session.
    pub fn read(path: &Path) -> Result<TicketKeys, String> {
        let stamp = Stamp::of(path);
        let meta = std::fs::metadata(path).map_err(|e| format!("cannot read it: {e}"))?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(format!(
                "is readable or writable by others (mode {mode:04o}): whoever reads it can \
                 decrypt every resumed session; `chmod 600 {}`",
                path.display()
            ));
        }
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read it: {e}"))?;
        let mut keys = Vec::new();
        for (n, line) in text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            keys.push(key(line.trim_end_matches('=')).map_err(|e| format!("line {n}: {e}"))?);
        }
        match keys.len() {
            0 => Err("holds no key: write one line of `openssl rand -base64 48`".into()),
            n if n > MAX_KEYS => Err(format!(
                "holds {n} keys, more than {MAX_KEYS}: drop the oldest (the last lines)"
            )),
            _ => Ok(TicketKeys {
                path: path.to_owned(),
                stamp,
                keys,
            }),
        }
    }

    fn encrypt(&self, plain: &[u8]) -> Option<Vec<u8>> {
        let (name, key) = self.keys.first()?;
        let mut ticket = name.to_vec();
        ticket.extend(key.seal(name, plain)?);
        Some(ticket)
    }

    fn decrypt(&self, ticket: &[u8]) -> Option<Vec<u8>> {
        let (name, sealed) = ticket.split_at_checked(16)?;
        let (_, key) = self.keys.iter().find(|(n, _)| n == name)?;
        key.open(name, sealed)
    }
}

fn key(line: &str) -> Result<([u8; 16], aead::Key), String> {
    let bytes = base64::decode(line).map_err(|e| format!("not base64 ({e})"))?;
    let Ok(bytes) = <[u8; KEY_LEN]>::try_from(bytes.as_slice()) else {
        return Err(format!(
            "{} bytes, not {KEY_LEN}: write `openssl rand -base64 48`",
            bytes.len()
        ));
    };
    let (mut name, mut secret) = ([0u8; 16], [0u8; 32]);
    name.copy_from_slice(&bytes[..16]);
    secret.copy_from_slice(&bytes[16..]);
    Ok((name, aead::Key::new(&secret)))
}

/// The server's ticketer: the current store's shared keys when it has them, else `own`, the
/// process's rustls ticketer. Read on every ticket, so a reload or a rotated file takes
/// effect on the next handshake.
#[derive(Debug)]
pub struct Ticketer {
    certs: Certs,
    own: Arc<dyn ProducesTickets>,
}

impl Ticketer {
    pub fn new(certs: Certs, own: Arc<dyn ProducesTickets>) -> Ticketer {
        Ticketer { certs, own }
    }
}

impl ProducesTickets for Ticketer {
    fn enabled(&self) -> bool {
        true
    }

    fn lifetime(&self) -> u32 {
        LIFETIME_SECS
    }

    fn encrypt(&self, plain: &[u8]) -> Option<Vec<u8>> {
        match &self.certs.load().tickets {
            Some(keys) => keys.encrypt(plain),
            None => self.own.encrypt(plain),
        }
    }

    fn decrypt(&self, ticket: &[u8]) -> Option<Vec<u8>> {
        match &self.certs.load().tickets {
            Some(keys) => keys.decrypt(ticket),
            None => self.own.decrypt(ticket),
        }
    }
}

//! AES-256-GCM from the crypto library of the TLS provider, for session tickets sealed with
//! keys several instances share (*ring* and aws-lc-rs have the same API for this).

use crate::crypto as lib;

use lib::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use lib::rand::{SecureRandom, SystemRandom};

/// A 256-bit key.
pub struct Key(LessSafeKey);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(..)")
    }
}

impl Key {
    pub fn new(bytes: &[u8; 32]) -> Key {
        match UnboundKey::new(&AES_256_GCM, bytes) {
            Ok(key) => Key(LessSafeKey::new(key)),
            // 32 bytes is AES-256's key length: `new` cannot refuse it.
            Err(_) => unreachable!("AES-256-GCM takes 32-byte keys"),
        }
    }

    /// A random nonce, then `plain` encrypted and authenticated with `aad`.
    pub fn seal(&self, aad: &[u8], plain: &[u8]) -> Option<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new().fill(&mut nonce).ok()?;
        let mut out = Vec::with_capacity(NONCE_LEN + plain.len() + 16);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plain);
        let mut body = out.split_off(NONCE_LEN);
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut body,
            )
            .ok()?;
        out.append(&mut body);
        Some(out)
    }

    /// What [`Key::seal`] sealed with this key and `aad`, or `None` for anything else.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        let (nonce, body) = sealed.split_at_checked(NONCE_LEN)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut body = body.to_vec();
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(aad), &mut body)
            .ok()?;
        let len = plain.len();
        body.truncate(len);
        Some(body)
    }
}

#[cfg(test)]
mod tests {
    use super::Key;

    #[test]
    fn opens_what_it_sealed_and_nothing_else() {
        let key = Key::new(&[7; 32]);
        let sealed = key.seal(b"name", b"session state").unwrap();
        assert_eq!(
            key.open(b"name", &sealed).as_deref(),
            Some(&b"session state"[..])
        );
        assert_eq!(key.open(b"other", &sealed), None);
        assert_eq!(Key::new(&[8; 32]).open(b"name", &sealed), None);
        let mut tampered = sealed.clone();
        tampered[20] ^= 1;
        assert_eq!(key.open(b"name", &tampered), None);
        assert_eq!(key.open(b"name", &sealed[..5]), None);
    }
}

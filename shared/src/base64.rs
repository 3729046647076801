//! Unpadded standard base64, the encoding Matrix uses for keys and signatures.

/// Decodes unpadded standard base64 (`A-Z a-z 0-9 + /`, no `=`), rejecting non-canonical
/// trailing bits so each byte string has exactly one encoding.
pub fn decode(s: &str) -> Result<Vec<u8>, String> {
    if s.contains('=') {
        return Err("has `=` padding: Matrix uses unpadded base64, remove the `=`".into());
    }
    if s.contains(['-', '_']) {
        return Err(
            "uses the URL-safe alphabet (`-`, `_`): Matrix uses standard base64 (`+`, `/`)".into(),
        );
    }
    if s.len() % 4 == 1 {
        return Err(format!("has an impossible length ({} characters)", s.len()));
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return Err(format!("contains `{}`, which is not base64", c as char)),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if acc != 0 {
        return Err("is not canonical base64 (non-zero trailing bits)".into());
    }
    Ok(out)
}

/// Decodes unpadded base64 in either alphabet: the policy server's key is written URL-safe in
/// the spec's own example. Returns the bytes, and the standard form when `s` was URL-safe.
pub fn decode_either(s: &str) -> Result<(Vec<u8>, Option<String>), String> {
    let standard = s.replace('-', "+").replace('_', "/");
    let bytes = decode(&standard)?;
    Ok((bytes, (standard != s).then_some(standard)))
}

/// Encodes as unpadded standard base64 (used by the tests' fake homeserver to sign keys).
pub fn encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{decode, encode};

    #[test]
    fn encode_round_trips() {
        for s in [&b""[..], b"f", b"fo", b"foo", b"foob", &[0xfb, 0xff]] {
            assert_eq!(decode(&encode(s)).unwrap(), s);
        }
        assert_eq!(encode(b"foo"), "Zm9v");
    }

    #[test]
    fn decodes_unpadded() {
        assert_eq!(decode("").unwrap(), b"");
        assert_eq!(decode("Zg").unwrap(), b"f");
        assert_eq!(decode("Zm8").unwrap(), b"fo");
        assert_eq!(decode("Zm9v").unwrap(), b"foo");
        assert_eq!(decode("+/8").unwrap(), [0xfb, 0xff]);
    }

    #[test]
    fn rejects_padding_urlsafe_and_junk() {
        assert!(decode("Zg==").unwrap_err().contains("padding"));
        assert!(decode("-_8").unwrap_err().contains("URL-safe"));
        assert!(decode("Zh").unwrap_err().contains("canonical"));
        assert!(decode("Z").unwrap_err().contains("length"));
        assert!(decode("Z!").unwrap_err().contains("not base64"));
    }
}

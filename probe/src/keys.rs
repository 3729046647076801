//! The homeserver's signing keys (`GET /_matrix/key/v2/server`): the response must be signed
//! by one of the ed25519 keys it lists, over its canonical JSON (spec appendix "Signing
//! JSON"), for the server name remote servers asked for, and still be valid.

use serde_json::{Map, Value};
use wellknownd_shared::crypto::signature::{ED25519, UnparsedPublicKey};

use wellknownd_shared::base64;

/// Canonical JSON: keys sorted by code point, no insignificant whitespace, UTF-8 unescaped.
/// serde_json's `Map` is a `BTreeMap` (the `preserve_order` feature is off), so its compact
/// output is exactly that for the integers and strings the spec allows.
pub fn canonical(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// What a verified key response says: which key signed it and until when it is valid.
#[derive(Debug, PartialEq, Eq)]
pub struct Verified {
    pub key_id: String,
    pub valid_until_ms: i64,
}

/// Checks a key response for `server_name` at `now_ms`; the error is a sentence for the
/// report.
pub fn verify(body: &[u8], server_name: &str, now_ms: i64) -> Result<Verified, String> {
    let Ok(Value::Object(mut doc)) = serde_json::from_slice::<Value>(body) else {
        return Err("the response is not a JSON object".into());
    };
    match doc.get("server_name").and_then(Value::as_str) {
        Some(name) if name.eq_ignore_ascii_case(server_name) => {}
        Some(name) => {
            return Err(format!(
                "server_name is `{name}`, not `{server_name}`: the homeserver's server_name must be the domain users have in their IDs"
            ));
        }
        None => return Err("no server_name".into()),
    }
    let signatures = doc.remove("signatures");
    doc.remove("unsigned");
    let signed = canonical(&Value::Object(doc.clone()));
    let ours = signatures
        .as_ref()
        .and_then(|s| s.get(server_name))
        .and_then(Value::as_object)
        .ok_or_else(|| format!("no signatures by `{server_name}`"))?;
    let keys = doc
        .get("verify_keys")
        .and_then(Value::as_object)
        .ok_or("no verify_keys")?;
    let key_id = first_valid(ours, keys, &signed)?;
    let valid_until_ms = doc
        .get("valid_until_ts")
        .and_then(Value::as_i64)
        .ok_or("no valid_until_ts")?;
    if valid_until_ms <= now_ms {
        return Err(format!(
            "valid_until_ts is in the past ({}): remote servers will not accept these keys",
            wellknownd_shared::civil::format_utc(valid_until_ms / 1000)
        ));
    }
    Ok(Verified {
        key_id,
        valid_until_ms,
    })
}

/// The first `ed25519:` key id whose signature verifies against its key in `verify_keys`.
fn first_valid(
    signatures: &Map<String, Value>,
    keys: &Map<String, Value>,
    signed: &[u8],
) -> Result<String, String> {
    let mut last = "no ed25519 signature by any key in verify_keys".to_owned();
    for (id, sig) in signatures
        .iter()
        .filter(|(id, _)| id.starts_with("ed25519:"))
    {
        let Some(key) = keys
            .get(id)
            .and_then(|k| k.get("key"))
            .and_then(Value::as_str)
        else {
            last = format!("`{id}` signed, but it is not in verify_keys");
            continue;
        };
        let sig = sig.as_str().unwrap_or_default();
        let (Ok(key), Ok(sig)) = (base64::decode(key), base64::decode(sig)) else {
            last = format!("`{id}`: key or signature is not unpadded base64");
            continue;
        };
        if UnparsedPublicKey::new(&ED25519, &key)
            .verify(signed, &sig)
            .is_ok()
        {
            return Ok(id.clone());
        }
        last = format!("the signature by `{id}` does not verify");
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use wellknownd_shared::crypto::rand::SystemRandom;
    use wellknownd_shared::crypto::signature::{Ed25519KeyPair, KeyPair};

    fn encode(bytes: &[u8]) -> String {
        wellknownd_shared::base64::encode(bytes)
    }

    /// A key response signed as a homeserver signs it.
    pub fn signed(server: &str, valid_until: i64) -> Vec<u8> {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let mut doc = json!({
            "server_name": server,
            "valid_until_ts": valid_until,
            "verify_keys": {"ed25519:a1": {"key": encode(pair.public_key().as_ref())}},
            "old_verify_keys": {},
        });
        let sig = encode(pair.sign(&canonical(&doc)).as_ref());
        doc["signatures"] = json!({ server: { "ed25519:a1": sig } });
        serde_json::to_vec(&doc).unwrap()
    }

    #[test]
    fn canonical_json_matches_the_spec_example() {
        let v: Value = serde_json::from_str(r#"{"b": "2", "a": 1, "日本語": "\u65E5"}"#).unwrap();
        assert_eq!(canonical(&v), r#"{"a":1,"b":"2","日本語":"日"}"#.as_bytes());
    }

    #[test]
    fn verifies_a_signed_response() {
        let body = signed("example.test", 2_000_000_000_000);
        let ok = verify(&body, "example.test", 1_000).unwrap();
        assert_eq!(ok.key_id, "ed25519:a1");
        assert!(
            verify(&body, "example.test", 3_000_000_000_000)
                .unwrap_err()
                .contains("in the past")
        );
        assert!(
            verify(&body, "other.test", 1)
                .unwrap_err()
                .contains("not `other.test`")
        );
        let tampered = String::from_utf8(body)
            .unwrap()
            .replace("2000000000000", "2000000000001");
        assert!(
            verify(tampered.as_bytes(), "example.test", 1)
                .unwrap_err()
                .contains("does not verify")
        );
    }
}

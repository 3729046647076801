//! The client document as Element X reads it: matrix-rust-sdk deserializes it into ruma's
//! `discover_homeserver::Response` (crates/matrix-sdk/src/client/builder/homeserver_config.rs),
//! with the unstable features it enables (MSC3488's tile server, MSC4143's RTC foci), so one
//! malformed optional key rejects the whole document. ruma says only what is wrong, not
//! where: [`parse`] finds the key by asking ruma again about one key (and one list entry)
//! at a time.

use ruma::api::IncomingResponseExt;
use ruma::api::client::discovery::discover_homeserver::Response as Discovery;
use serde_json::{Map, Value};

/// The base URL Element X takes from `body`, or what it rejects, naming the key, e.g.
/// ``org.matrix.msc4143.rtc_foci[0]: missing field `type` ``.
pub fn parse(body: &[u8]) -> Result<String, String> {
    match ruma(body) {
        Ok(base_url) => Ok(base_url),
        Err(whole) => Err(culprit(body).unwrap_or(whole)),
    }
}

fn ruma(body: &[u8]) -> Result<String, String> {
    let response = http::Response::builder()
        .status(200)
        .body(body)
        .map_err(|e| e.to_string())?;
    Discovery::try_from_http_response(response)
        .map(|r| r.homeserver.base_url)
        .map_err(|e| plain(&e.to_string()))
}

/// The first key (and list entry) ruma rejects on its own beside `m.homeserver`.
fn culprit(body: &[u8]) -> Option<String> {
    let Ok(Value::Object(doc)) = serde_json::from_slice::<Value>(body) else {
        return None;
    };
    let Some(homeserver) = doc.get("m.homeserver") else {
        return Some("m.homeserver: missing (it is the one key Element X needs)".into());
    };
    let alone = |key: &str, value: Value| {
        let mut one = Map::new();
        one.insert("m.homeserver".into(), homeserver.clone());
        one.insert(key.to_owned(), value);
        ruma(&serde_json::to_vec(&one).unwrap_or_default())
    };
    for (key, value) in &doc {
        let Err(e) = alone(key, value.clone()) else {
            continue;
        };
        let entries = value.as_array().into_iter().flatten().enumerate();
        for (i, entry) in entries {
            if let Err(e) = alone(key, Value::Array(vec![entry.clone()])) {
                return Some(format!("{key}[{i}]: {e}"));
            }
        }
        return Some(format!("{key}: {e}"));
    }
    None
}

/// ruma's message without its wrapper and serde's position (which points into a document
/// the probe assembled, not the one served).
fn plain(e: &str) -> String {
    let e = e.strip_prefix("deserialization failed: ").unwrap_or(e);
    match e.rfind(" at line ") {
        Some(at) => e[..at].to_owned(),
        None => e.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn names_the_key_and_entry_ruma_rejects() {
        let hs = r#""m.homeserver": {"base_url": "https://matrix.example.com"}"#;
        let ok = format!(r#"{{{hs}, "org.example.x": 1}}"#);
        assert_eq!(
            parse(ok.as_bytes()),
            Ok("https://matrix.example.com".into())
        );
        let foci = format!(
            r#"{{{hs}, "org.matrix.msc4143.rtc_foci": [{{"type": "livekit", "livekit_service_url": "https://lk.example.com"}}, {{"livekit_service_url": "https://lk.example.com"}}]}}"#
        );
        assert_eq!(
            parse(foci.as_bytes()),
            Err("org.matrix.msc4143.rtc_foci[1]: missing field `type`".into())
        );
        let is = format!(r#"{{{hs}, "m.identity_server": {{}}}}"#);
        assert_eq!(
            parse(is.as_bytes()),
            Err("m.identity_server: missing field `base_url`".into())
        );
        assert!(
            parse(br#"{"m.identity_server": {"base_url": "https://is.example.com"}}"#)
                .is_err_and(|e| e.starts_with("m.homeserver: missing"))
        );
        assert!(parse(b"not json").is_err());
    }
}

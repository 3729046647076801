//! The checks of a document that came back 200: its CORS, Content-Type and cache headers,
//! its size and its JSON, each one line with a hint in the operator's terms.

use serde_json::Value;

use super::fetch::Reply;
use super::report::Check;
use super::wellknown::{GROUP, allows_origin};

/// The strictest consumer's cap: tuwunel refuses server documents over 12 288 bytes.
pub const MAX_BODY: usize = 12 * 1024;

const HINT_NO_CORS: &str = "no CORS header: Element Web in a browser will not be able to log in; send `Access-Control-Allow-Origin: *` on every response, errors included";
const HINT_CORS_VALUES: &str = "send exactly one `Access-Control-Allow-Origin: *`; browsers reject several values or another origin";
const HINT_TYPE: &str = "send `Content-Type: application/json` (nginx: `default_type application/json;` in the location)";
const HINT_TWO_TYPES: &str = "send exactly one Content-Type: in nginx use `default_type application/json;` instead of `add_header Content-Type ...`, which adds a second one";
const HINT_CACHE: &str =
    "send `Cache-Control: public, max-age=14400` so every server caches it for a known time";
const HINT_SIZE: &str = "keep the document under 12 KiB: tuwunel refuses larger server documents";
const HINT_JSON: &str = "Synapse treats invalid JSON as a failure and caches it for an hour; `wellknownd check` validates documents before serving them";

pub fn cors(name: &str, reply: &Reply) -> Check {
    let id = format!("{name}.cors");
    let values = reply.all("access-control-allow-origin");
    match values.as_slice() {
        [v] if allows_origin(v) => {
            Check::pass(GROUP, id, format!("Access-Control-Allow-Origin: {v}"))
        }
        [] => {
            let detail = format!(
                "no Access-Control-Allow-Origin on the {}",
                reply.status.as_u16()
            );
            Check::fail(GROUP, id, detail, HINT_NO_CORS)
        }
        _ => {
            let detail = format!("Access-Control-Allow-Origin: {}", values.join(", "));
            Check::fail(GROUP, id, detail, HINT_CORS_VALUES)
        }
    }
}

pub fn content_type(name: &str, reply: &Reply) -> Check {
    let id = format!("{name}.content_type");
    let values = reply.all("content-type");
    let json = |v: &str| {
        v.split(';')
            .next()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
    };
    match values.as_slice() {
        [v] if json(v) => Check::pass(GROUP, id, format!("Content-Type: {v}")),
        [] => Check::fail(GROUP, id, "no Content-Type", HINT_TYPE),
        [v] => Check::fail(GROUP, id, format!("Content-Type: {v}"), HINT_TYPE),
        _ => {
            let detail = format!(
                "{} Content-Type headers: {}",
                values.len(),
                values.join(" | ")
            );
            Check::fail(GROUP, id, detail, HINT_TWO_TYPES)
        }
    }
}

/// The period Synapse caches the document for (seconds), from the Cache-Control header.
pub fn synapse_cache_secs(cache_control: Option<&str>) -> u64 {
    const MIN: u64 = 5 * 60;
    const MAX: u64 = 48 * 3600;
    let Some(header) = cache_control else {
        return 24 * 3600;
    };
    let directives: Vec<String> = header
        .split(',')
        .map(|d| d.trim().to_ascii_lowercase())
        .collect();
    if directives.iter().any(|d| d == "no-store") {
        return MIN;
    }
    let max_age = directives.iter().find_map(|d| {
        d.strip_prefix("max-age=")
            .and_then(|n| n.trim_matches('"').parse::<u64>().ok())
    });
    max_age.map_or(24 * 3600, |n| n.clamp(MIN, MAX))
}

/// `14400` as `4 h`, `300` as `5 min`.
pub fn period(secs: u64) -> String {
    match secs {
        s if s % 3600 == 0 => format!("{} h", s / 3600),
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

pub fn cache(name: &str, reply: &Reply) -> Check {
    let id = format!("{name}.cache");
    let header = reply.all("cache-control");
    let header = (!header.is_empty()).then(|| header.join(", "));
    let secs = synapse_cache_secs(header.as_deref());
    let derived = format!("Synapse caches it for {}", period(secs));
    match header {
        None => Check::warn(
            GROUP,
            id,
            format!("no Cache-Control: {derived}"),
            HINT_CACHE,
        ),
        Some(h) if h.to_ascii_lowercase().contains("no-store") => {
            let detail =
                format!("Cache-Control: {h}: {derived}; Conduit refetches on every request");
            Check::warn(GROUP, id, detail, HINT_CACHE)
        }
        Some(h) => Check::pass(GROUP, id, format!("Cache-Control: {h}: {derived}")),
    }
}

pub fn size(name: &str, reply: &Reply) -> Check {
    let id = format!("{name}.size");
    let n = reply.body.len();
    if reply.truncated || n > MAX_BODY {
        let more = if reply.truncated { "more than " } else { "" };
        return Check::fail(GROUP, id, format!("{more}{n} bytes"), HINT_SIZE);
    }
    Check::pass(GROUP, id, format!("{n} bytes"))
}

pub fn json(name: &str, reply: &Reply) -> (Check, Option<Value>) {
    let id = format!("{name}.json");
    match serde_json::from_slice::<Value>(&reply.body) {
        Ok(v @ Value::Object(_)) => (Check::pass(GROUP, id, "a JSON object"), Some(v)),
        Ok(_) => {
            let hint = "the document must be a JSON object `{...}`";
            (
                Check::fail(GROUP, id, "valid JSON, but not an object", hint),
                None,
            )
        }
        Err(e) => (
            Check::fail(GROUP, id, format!("invalid JSON: {e}"), HINT_JSON),
            None,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::{period, synapse_cache_secs};

    #[test]
    fn derives_synapse_cache_period() {
        let secs = |h: Option<&str>| period(synapse_cache_secs(h));
        assert_eq!(secs(None), "24 h");
        assert_eq!(secs(Some("public, max-age=14400")), "4 h");
        assert_eq!(secs(Some("max-age=60")), "5 min");
        assert_eq!(secs(Some("max-age=31536000")), "48 h");
        assert_eq!(secs(Some("no-store")), "5 min");
        assert_eq!(secs(Some("public")), "24 h");
        assert_eq!(period(90), "90 s");
    }
}

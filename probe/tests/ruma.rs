//! The client-document rules against the parser Element X uses: ruma's
//! `discover_homeserver::Response`, with the unstable features matrix-rust-sdk enables
//! (MSC3488 tile server, MSC4143/MSC4195 MatrixRTC foci). Every client document the config
//! accepts, as the router serves it, deserializes; for each rule the document it refuses is
//! rejected by ruma too, or the case says why the rule is stricter.

use std::path::Path;

use http::Request;
use http_body_util::BodyExt;
use ruma::api::IncomingResponseExt;
use ruma::api::client::discovery::discover_homeserver::Response as Discovery;
use wellknownd::http::{Router, route};

fn client_config(extra: &str, homeserver: &str) -> String {
    format!(
        "[listen]\nhttp = [\"127.0.0.1:0\"]\n[[domain]]\nname = \"example.com\"\n\
         [domain.client]\nhomeserver = \"{homeserver}\"\nidentity_server = \"https://vector.im\"\n\
         [domain.client.extra]\n{extra}\n"
    )
}

/// What ruma makes of a client document body.
fn ruma(body: &[u8]) -> Result<Discovery, String> {
    let response = http::Response::builder().status(200).body(body).unwrap();
    Discovery::try_from_http_response(response).map_err(|e| e.to_string())
}

/// The client document exactly as the router serves it for `text`.
async fn served(text: &str) -> Vec<u8> {
    let loaded =
        wellknownd::config::parse(Path::new("test.toml"), text).unwrap_or_else(|e| panic!("{e}"));
    let router = Router::new(&loaded.config);
    let req = Request::get("/.well-known/matrix/client")
        .header("host", "example.com")
        .body(())
        .unwrap();
    let r = route(&router, &req);
    assert_eq!(r.status(), 200);
    r.into_body().collect().await.unwrap().to_bytes().to_vec()
}

const LIVEKIT: &str =
    r#"[{ type = "livekit", livekit_service_url = "https://livekit.example.com" }]"#;

#[tokio::test]
async fn every_accepted_client_document_parses_in_element_x() {
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../config.example.toml"
    ))
    .unwrap();
    let accepted = [
        example,
        client_config("", "https://matrix.example.com"),
        client_config(
            &format!("\"org.matrix.msc4143.rtc_foci\" = {LIVEKIT}"),
            "https://matrix.example.com/",
        ),
        client_config(
            &format!("\"m.rtc_foci\" = {LIVEKIT}"),
            "https://matrix.example.com",
        ),
        client_config(
            r#""m.rtc_foci" = [{ type = "org.example.mesh", hops = 3 }]"#,
            "https://m.example.com",
        ),
        client_config(
            r#""m.tile_server" = { map_style_url = "https://tiles.example.com/style.json" }"#,
            "https://m.example.com",
        ),
        client_config(
            r#""org.matrix.msc3488.tile_server" = { map_style_url = "https://t.example.com/s.json" }
"io.element.e2ee" = { default = false, force_disable = true }
"io.element.jitsi" = { preferredDomain = "jitsi.example.com" }
"org.example.anything" = [1, "two", { three = 3.5 }]"#,
            "https://m.example.com/synapse",
        ),
    ];
    for text in accepted {
        let body = served(&text).await;
        let parsed = ruma(&body)
            .unwrap_or_else(|e| panic!("ruma rejects {}: {e}", String::from_utf8_lossy(&body)));
        assert!(parsed.homeserver.base_url.starts_with("https://m"));
        assert_eq!(
            parsed.identity_server.unwrap().base_url,
            "https://vector.im"
        );
    }
}

/// What the refused document does in Element X.
enum Ruma {
    /// ruma rejects it: the rule matches the parser.
    Rejects(&'static str),
    /// ruma takes it; the rule is stricter, for this reason.
    Stricter(&'static str),
}

#[test]
fn every_refused_client_key_is_refused_by_ruma_or_documented_as_stricter() {
    use Ruma::*;
    // The config the rule refuses, and the document it would have served without the rule.
    let cases: [(&str, &str, Ruma); 11] = [
        (
            r#""org.matrix.msc4143.rtc_foci" = [{ livekit_service_url = "https://lk.example.com" }]"#,
            r#"{"org.matrix.msc4143.rtc_foci":[{"livekit_service_url":"https://lk.example.com"}]}"#,
            Rejects("missing field `type`"),
        ),
        (
            r#""org.matrix.msc4143.rtc_foci" = [{ type = 1 }]"#,
            r#"{"org.matrix.msc4143.rtc_foci":[{"type":1}]}"#,
            Rejects("`type` must be a string"),
        ),
        (
            r#""m.rtc_foci" = [{ type = "livekit" }]"#,
            r#"{"m.rtc_foci":[{"type":"livekit"}]}"#,
            Rejects("missing field `livekit_service_url`"),
        ),
        (
            r#""m.rtc_foci" = { type = "livekit", livekit_service_url = "https://lk.example.com" }"#,
            r#"{"m.rtc_foci":{"type":"livekit","livekit_service_url":"https://lk.example.com"}}"#,
            Rejects("invalid type: map, expected a sequence"),
        ),
        (
            r#""m.tile_server" = { url = "https://t.example.com" }"#,
            r#"{"m.tile_server":{"url":"https://t.example.com"}}"#,
            Rejects("missing field `map_style_url`"),
        ),
        (
            "\"m.tile_server\" = { map_style_url = \"https://t.example.com/a.json\" }\n\
             \"org.matrix.msc3488.tile_server\" = { map_style_url = \"https://t.example.com/a.json\" }",
            r#"{"m.tile_server":{"map_style_url":"https://t.example.com/a.json"},"org.matrix.msc3488.tile_server":{"map_style_url":"https://t.example.com/a.json"}}"#,
            Rejects("duplicate field"),
        ),
        (
            &format!("\"m.rtc_foci\" = {LIVEKIT}\n\"org.matrix.msc4143.rtc_foci\" = {LIVEKIT}"),
            r#"{"m.rtc_foci":[{"type":"livekit","livekit_service_url":"https://livekit.example.com"}],"org.matrix.msc4143.rtc_foci":[{"type":"livekit","livekit_service_url":"https://livekit.example.com"}]}"#,
            Rejects("duplicate field"),
        ),
        (
            r#""m.rtc_foci" = [{ type = "livekit", livekit_service_url = "http://lk.example.com" }]"#,
            r#"{"m.rtc_foci":[{"type":"livekit","livekit_service_url":"http://lk.example.com"}]}"#,
            Stricter(
                "ruma takes any string; Element Call in a browser cannot reach http:// from an https:// page",
            ),
        ),
        (
            r#""io.element.e2ee" = { default = "yes" }"#,
            r#"{"io.element.e2ee":{"default":"yes"}}"#,
            Stricter(
                "ruma does not parse io.element.e2ee; Element Web does, and a string is not its boolean",
            ),
        ),
        (
            r#""io.element.jitsi" = { preferredDomain = 3 }"#,
            r#"{"io.element.jitsi":{"preferredDomain":3}}"#,
            Stricter(
                "ruma does not parse io.element.jitsi; Element Web reads preferredDomain as a string",
            ),
        ),
        (
            "",
            r#"{"m.homeserver":{"base_url":"https://matrix.example.com/_matrix"}}"#,
            Stricter(
                "ruma takes any base_url; clients append /_matrix/client/..., so /_matrix/_matrix/client/versions fails",
            ),
        ),
    ];
    for (extra, document, expected) in cases {
        let homeserver = match extra {
            "" => "https://matrix.example.com/_matrix",
            _ => "https://matrix.example.com",
        };
        let text = client_config(extra, homeserver);
        assert!(
            wellknownd::config::parse(Path::new("test.toml"), &text).is_err(),
            "the config accepts {extra}"
        );
        let mut body: serde_json::Value = serde_json::from_str(document).unwrap();
        body.as_object_mut()
            .unwrap()
            .entry("m.homeserver")
            .or_insert(serde_json::json!({ "base_url": "https://matrix.example.com" }));
        let parsed = ruma(body.to_string().as_bytes());
        match expected {
            Rejects(why) => {
                let e = parsed
                    .err()
                    .unwrap_or_else(|| panic!("ruma accepts {body}"));
                assert!(e.contains(why), "ruma's reason for {body}: {e}");
            }
            Stricter(why) => {
                assert!(
                    parsed.is_ok(),
                    "ruma rejects {body} ({why}): mark it Rejects"
                );
            }
        }
    }
}

//! Any method, authority, path and Host header through the router of a two-domain state:
//! a response with CORS headers every time, never a panic.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use wellknownd::state::State;

const CONFIG: &str = r#"
[listen]
http = ["127.0.0.1:0"]
[health]
path = "/healthz"
[[domain]]
name = "one.test"
server = "matrix.one.test:443"
redirect = "https://www.one.test"
[domain.client]
homeserver = "https://matrix.one.test"
[[domain]]
name = "two.test"
server = "matrix.two.test:443"
default = true
"#;

fn state() -> &'static State {
    static STATE: OnceLock<State> = OnceLock::new();
    STATE.get_or_init(|| {
        let loaded = wellknownd::config::parse(std::path::Path::new("fuzz.toml"), CONFIG).expect("fuzz config");
        State::without_certs(loaded.config)
    })
}

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |b| *b == b'\n');
    let (method, host, target) = (parts.next().unwrap_or(b"GET"), parts.next().unwrap_or(b""), parts.next().unwrap_or(b"/"));
    let Ok(method) = http::Method::from_bytes(method) else { return };
    let Ok(uri) = http::Uri::try_from(target) else { return };
    let mut builder = http::Request::builder().method(method).uri(uri);
    if let Ok(host) = http::HeaderValue::from_bytes(host) {
        builder = builder.header(http::header::HOST, host);
    }
    let Ok(request) = builder.body(()) else { return };
    let response = wellknownd::http::route(state(), &request);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
});

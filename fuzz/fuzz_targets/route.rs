//! Any version, method, authority, path and Host headers (none, one, several) through the
//! router of a two-domain config, and through the port-80 router: a response with CORS
//! headers every time, a 400 for two Hosts, a Location of visible ASCII only (on port 80, to
//! one of the configured names over https), never a panic.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use wellknownd::http::Router;

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

fn router() -> &'static Router {
    static ROUTER: OnceLock<Router> = OnceLock::new();
    ROUTER.get_or_init(|| {
        let loaded = wellknownd::config::parse(std::path::Path::new("fuzz.toml"), CONFIG).expect("fuzz config");
        Router::new(&loaded.config)
    })
}

const VERSIONS: [http::Version; 3] = [http::Version::HTTP_10, http::Version::HTTP_11, http::Version::HTTP_2];

fuzz_target!(|data: &[u8]| {
    // First byte: the HTTP version; then method, Host values (tab-separated, any number) and
    // target, one per line.
    let Some((&version, data)) = data.split_first() else { return };
    let mut parts = data.splitn(3, |b| *b == b'\n');
    let (method, hosts, target) = (parts.next().unwrap_or(b"GET"), parts.next().unwrap_or(b""), parts.next().unwrap_or(b"/"));
    let Ok(method) = http::Method::from_bytes(method) else { return };
    let Ok(uri) = http::Uri::try_from(target) else { return };
    let mut builder = http::Request::builder()
        .method(method)
        .uri(uri)
        .version(VERSIONS[usize::from(version) % VERSIONS.len()]);
    for host in hosts.split(|b| *b == b'\t').filter(|_| !hosts.is_empty()) {
        if let Ok(host) = http::HeaderValue::from_bytes(host) {
            builder = builder.header(http::header::HOST, host);
        }
    }
    let Ok(request) = builder.body(()) else { return };
    let pending = wellknownd::challenges::Challenges::default();
    let plain = wellknownd::http::route_plain(router(), &pending, &request);
    for response in [wellknownd::http::route(router(), &request), plain] {
        assert_eq!(response.headers()["access-control-allow-origin"], "*");
        if request.headers().get_all(http::header::HOST).iter().count() > 1 {
            assert_eq!(response.status(), 400);
        }
        if let Some(location) = response.headers().get(http::header::LOCATION) {
            assert!(location.as_bytes().iter().all(u8::is_ascii_graphic), "{location:?}");
        }
    }
    let plain = wellknownd::http::route_plain(router(), &pending, &request);
    if let Some(location) = plain.headers().get(http::header::LOCATION) {
        let to_a_site = ["https://one.test/", "https://two.test/"];
        assert!(to_a_site.iter().any(|s| location.as_bytes().starts_with(s.as_bytes())), "{location:?}");
    }
});

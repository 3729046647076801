//! Any bytes as what hyper writes at the start of a response: replaced only by one of our
//! answers (a 4xx with CORS and a Matrix error body), never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wellknownd::http::Automatic;

fuzz_target!(|data: &[u8]| {
    let automatic = Automatic::new();
    if let Some(ours) = automatic.replacement(data, || "Tue, 01 Dec 2026 00:00:00 GMT".into()) {
        assert!(data.starts_with(b"HTTP/1."));
        assert!(ours.starts_with(b"HTTP/1.1 4"));
        let text = std::str::from_utf8(&ours).expect("ours is text");
        assert!(text.contains("\r\naccess-control-allow-origin: *\r\n"));
        assert!(text.contains("\r\n\r\n{\"errcode\":\"M_"));
        // Ours is never replaced again.
        assert!(automatic.replacement(&ours, String::new).is_none());
    }
});

//! Any string through every grammar check: server names, domain names, base URLs, user IDs,
//! email addresses, base64.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wellknownd::config::names;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(hp) = names::server_name(s) {
            assert!(s.starts_with(hp.host));
        }
        let _ = names::domain_name(s);
        if let Ok(url) = names::base_url(s, data.len() % 2 == 0) {
            assert!(!url.ends_with('/') && !url.contains(['?', '#']));
        }
        let _ = names::user_id(s);
        let _ = names::email(s);
        let _ = wellknownd::base64::decode(s);
    }
});

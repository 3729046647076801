//! Any bytes as the start of a PROXY-protocol connection.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wellknownd::server::proxy::{Parsed, parse};

fuzz_target!(|data: &[u8]| {
    match parse(data) {
        Parsed::Done { len, .. } => assert!(len <= data.len()),
        Parsed::Incomplete | Parsed::Invalid(_) => {}
    }
});

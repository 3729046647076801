//! Any text as a config file: parse and validate must return Ok or Err, never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = wellknownd::config::parse(std::path::Path::new("fuzz.toml"), text);
    }
});

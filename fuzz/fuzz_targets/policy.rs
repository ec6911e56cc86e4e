#![no_main]
//! Policy TOML.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = wangge::domain::Policy::from_toml(s);
    }
});

//! The decision policy (TOML): any text gives a policy or a located error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = imprint_host::policy::Policy::parse(text, "fuzz.toml");
    }
});

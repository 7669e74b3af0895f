//! Any bytes through format detection and whichever loader it picks.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = imprint_core::io::parse_bytes(data, &Default::default());
});

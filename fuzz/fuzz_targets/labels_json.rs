//! Teeth3DS label JSON.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = imprint_core::io::labels::parse_label_file(data);
});

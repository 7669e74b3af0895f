//! The case file (JSON): any bytes give a case or a located error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = imprint_host::case::CaseFile::parse(data);
});

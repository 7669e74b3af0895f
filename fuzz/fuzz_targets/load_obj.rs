//! The OBJ loader: fuzz input behind a fixed prefix so detection always picks it.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut bytes = b"v 0 0 0n".to_vec();
    bytes.extend_from_slice(data);
    let _ = imprint_core::io::parse_bytes(&bytes, &Default::default());
});

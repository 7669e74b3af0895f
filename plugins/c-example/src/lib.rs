//! The worked example of an Imprint analyzer written in C: `src/needles.c`, compiled by this
//! crate's build script into `target/<profile>/c-examples/libimprint_plugin_c_needles.so`;
//! load it with `--plugins target/<profile>/c-examples`. This Rust crate holds no code: it
//! only makes the workspace build the library. See the C/C++ section of
//! `docs/plugin-guide.md`.

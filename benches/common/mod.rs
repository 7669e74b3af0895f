//! Helpers shared by the benches.

use std::path::PathBuf;

/// A plugin library of this workspace (e.g. `imprint_plugin_voids`), from the release build
/// when there is one, else the debug build. It may not exist: benches skip without it.
pub fn plugin_library(name: &str) -> PathBuf {
    let file = format!(
        "{}{name}.{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_EXTENSION
    );
    let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target");
    let release = target.join("release").join(&file);
    if release.exists() {
        release
    } else {
        target.join("debug").join(file)
    }
}

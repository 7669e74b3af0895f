//! Compiles the C example (`src/needles.c`, against `core/include/imprint_analyzer.h`) into
//! `target/<profile>/c-examples/libimprint_plugin_c_needles.so`: a folder of its own, so
//! the example does not join the analyzers `imprint` finds beside itself; load it with
//! `--plugins target/<profile>/c-examples` (the same discovery as any plugin folder).

fn main() {
    let manifest =
        std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let include = manifest.join("../../core/include");
    let source = manifest.join("src/needles.c");
    println!("cargo:rerun-if-changed={}", source.display());
    println!(
        "cargo:rerun-if-changed={}",
        include.join("imprint_analyzer.h").display()
    );
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default());
    // OUT_DIR is <target>/<profile>/build/<package>/out.
    let Some(profile) = out.ancestors().nth(3) else {
        panic!("unexpected OUT_DIR {}", out.display());
    };
    let dir = profile.join("c-examples");
    if let Err(e) = std::fs::create_dir_all(&dir) {
        panic!("cannot create {}: {e}", dir.display());
    }
    let library = dir.join(format!(
        "{}imprint_plugin_c_needles.{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_EXTENSION
    ));
    let status = cc::Build::new()
        .get_compiler()
        .to_command()
        .args([
            "-shared", "-fPIC", "-O2", "-std=c99", "-Wall", "-Wextra", "-Werror",
        ])
        .arg("-I")
        .arg(&include)
        .arg(&source)
        .arg("-o")
        .arg(&library)
        .arg("-lm")
        .status();
    match status {
        Ok(s) if s.success() => {}
        other => panic!("compiling {} failed: {other:?}", source.display()),
    }
}

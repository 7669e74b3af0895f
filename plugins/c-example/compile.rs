// Shared by the build scripts that compile C plugins (`plugins/c-example`, the fixtures in
// `tests/plugins/c-bad`), brought in with `include!`: where a library goes, and how it is
// compiled with the platform's C compiler (found by the `cc` crate).

/// `<target>/<profile>/<folder>/<DLL_PREFIX><name>.<DLL_EXTENSION>`, the folder created;
/// OUT_DIR is `<target>/<profile>/build/<package>/out`.
fn library_path(folder: &str, name: &str) -> std::path::PathBuf {
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default());
    let Some(profile) = out.ancestors().nth(3) else {
        panic!("unexpected OUT_DIR {}", out.display());
    };
    let dir = profile.join(folder);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        panic!("cannot create {}: {e}", dir.display());
    }
    dir.join(format!(
        "{}{name}.{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_EXTENSION
    ))
}

/// Compiles `source` (relative to the package) against `core/include` into a shared
/// `library`, with `-D` for each of `defines`; panics with the compiler's status on failure.
fn compile_c(source: &str, include: &str, library: &std::path::Path, defines: &[&str]) {
    let manifest =
        std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let (source, include) = (manifest.join(source), manifest.join(include));
    println!("cargo:rerun-if-changed={}", source.display());
    println!("cargo:rerun-if-changed={}", include.join("imprint_analyzer.h").display());
    let status = cc::Build::new()
        .get_compiler()
        .to_command()
        .args(["-shared", "-fPIC", "-O2", "-std=c99", "-Wall", "-Wextra", "-Werror"])
        .args(defines.iter().map(|d| format!("-D{d}")))
        .arg("-I")
        .arg(&include)
        .arg(&source)
        .arg("-o")
        .arg(library)
        .arg("-lm")
        .status();
    match status {
        Ok(s) if s.success() => {}
        other => panic!("compiling {} failed: {other:?}", source.display()),
    }
}

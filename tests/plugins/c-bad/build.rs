//! Compiles `src/bad.c` three times beside the workspace's plugins, as test fixtures: two the
//! host must refuse (`imprint_testplugin_c_wrong_major`, `imprint_testplugin_c_truncated`)
//! and one that crashes (`imprint_testplugin_c_crash`). Their names keep them out of plugin
//! discovery.

fn main() {
    let manifest =
        std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let include = manifest.join("../../../core/include");
    let source = manifest.join("src/bad.c");
    println!("cargo:rerun-if-changed={}", source.display());
    println!(
        "cargo:rerun-if-changed={}",
        include.join("imprint_analyzer.h").display()
    );
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default());
    let Some(profile) = out.ancestors().nth(3) else {
        panic!("unexpected OUT_DIR {}", out.display());
    };
    for (name, define) in [
        ("wrong_major", "WRONG_MAJOR"),
        ("truncated", "TRUNCATED"),
        ("crash", "CRASH"),
    ] {
        let library = profile.join(format!(
            "{}imprint_testplugin_c_{name}.{}",
            std::env::consts::DLL_PREFIX,
            std::env::consts::DLL_EXTENSION
        ));
        let status = cc::Build::new()
            .get_compiler()
            .to_command()
            .args(["-shared", "-fPIC", "-std=c99", "-Wall", "-Werror"])
            .arg(format!("-D{define}"))
            .arg("-I")
            .arg(&include)
            .arg(&source)
            .arg("-o")
            .arg(&library)
            .status();
        match status {
            Ok(s) if s.success() => {}
            other => panic!(
                "compiling {} ({define}) failed: {other:?}",
                source.display()
            ),
        }
    }
}

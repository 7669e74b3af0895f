//! Compiles the C example (`src/needles.c`, against `core/include/imprint_analyzer.h`) into
//! `target/<profile>/c-examples/libimprint_plugin_c_needles.so`: a folder of its own, so
//! the example does not join the analyzers `imprint` finds beside itself; load it with
//! `--plugins target/<profile>/c-examples` (the same discovery as any plugin folder).

include!("compile.rs");

fn main() {
    println!("cargo:rerun-if-changed=compile.rs");
    let library = library_path("c-examples", "imprint_plugin_c_needles");
    compile_c("src/needles.c", "../../core/include", &library, &[]);
}

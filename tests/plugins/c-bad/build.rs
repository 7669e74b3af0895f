//! Compiles `src/bad.c` three times beside the workspace's plugins, as test fixtures: two the
//! host must refuse (`imprint_testplugin_c_wrong_major`, `imprint_testplugin_c_truncated`)
//! and one that crashes (`imprint_testplugin_c_crash`). Their names keep them out of plugin
//! discovery.

include!("../../../plugins/c-example/compile.rs");

fn main() {
    println!("cargo:rerun-if-changed=../../../plugins/c-example/compile.rs");
    for (name, define) in [
        ("wrong_major", "WRONG_MAJOR"),
        ("truncated", "TRUNCATED"),
        ("crash", "CRASH"),
    ] {
        let library = library_path(".", &format!("imprint_testplugin_c_{name}"));
        compile_c("src/bad.c", "../../../core/include", &library, &[define]);
    }
}

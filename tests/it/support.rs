//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};

/// The directory the test binary's build put the `imprint` binary and plugin libraries in.
pub fn build_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    exe.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// A plugin library of this build (e.g. `imprint_plugin_voids`); it must have been built.
pub fn plugin_lib(name: &str) -> PathBuf {
    let file = format!(
        "{}{name}.{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_EXTENSION
    );
    let path = build_dir().join(file);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace` first",
        path.display()
    );
    path
}

/// Runs `f` with one plugin of this build (e.g. `imprint_plugin_voids`) loaded, its default
/// parameters and the built-in policy.
pub fn with_plugin<T>(crate_name: &str, f: impl FnOnce(&imprint_host::run::Loaded<'_>) -> T) -> T {
    with_libraries(&[plugin_lib(crate_name)], 1, f)
}

/// Runs the suite `text` (a suite file's TOML) through one plugin of this build: the
/// per-phantom scores and the aggregate.
pub fn run_suite_with(
    crate_name: &str,
    text: &str,
) -> (
    Vec<(String, u64, imprint_phantom::eval::Score)>,
    imprint_phantom::suite::SuiteScore,
) {
    let spec = imprint_phantom::suite::SuiteSpec::parse(text).unwrap_or_else(|e| panic!("{e}"));
    with_plugin(crate_name, |loaded| {
        imprint_host::suite::run_suite(&spec, loaded, 2)
    })
}

/// Runs one group of `count` cast phantoms from `first_seed` at `triangles`, with `defects`
/// and labels withheld (as lab scans arrive), through one plugin of this build: the
/// aggregate score.
pub fn run_group(
    crate_name: &str,
    triangles: u32,
    (first_seed, count): (u64, u64),
    defects: &str,
) -> imprint_phantom::suite::SuiteScore {
    let text = format!(
        "triangles = {triangles}\nlabels = false\n[[group]]\nname = \"{defects}\"\n\
         first_seed = {first_seed}\ncount = {count}\ndefects = \"{defects}\"\n"
    );
    run_suite_with(crate_name, &text).1
}

/// Asserts that one plugin of this build raises no false alarm on the one phantom of `seed`
/// (a phantom with no defect of its own: a clean control).
pub fn assert_no_false_alarm(crate_name: &str, triangles: u32, seed: u64, defects: &str) {
    let total = run_group(crate_name, triangles, (seed, 1), defects);
    assert_eq!(
        total.false_alarms_per_clean_scan,
        Some(0.0),
        "{}",
        total.to_text()
    );
}

/// The false alarms per scan one plugin of this build raises on `count` clean phantoms with
/// evenly sampled walls (`walls=1`) from seed 8001 at `triangles`, and the suite's text
/// for a failure message.
pub fn even_wall_false_alarms(crate_name: &str, triangles: u32, count: u64) -> (f64, String) {
    let total = run_group(crate_name, triangles, (8001, count), "walls=1");
    (
        total.false_alarms_per_clean_scan.unwrap_or(f64::NAN),
        total.to_text(),
    )
}

/// Runs `f` with the plugin libraries `libs` loaded (`expected` of them must load), their
/// default parameters and the built-in policy.
pub fn with_libraries<T>(
    libs: &[PathBuf],
    expected: usize,
    f: impl FnOnce(&imprint_host::run::Loaded<'_>) -> T,
) -> T {
    let (plugins, refused) = imprint_host::plugins::load_all(libs);
    assert_eq!(
        plugins.len(),
        expected,
        "build the workspace first: {libs:?} {refused:?}"
    );
    let params = imprint_host::run::parameters(&plugins, &[]).unwrap_or_else(|e| panic!("{e}"));
    f(&imprint_host::run::Loaded {
        plugins: &plugins,
        refused: &refused,
        params: &params,
        policy: imprint_host::policy::Policy::builtin(),
    })
}

/// The shared sample-scan folder beside the project, if present (`IMPRINT_SHARED_SCANS`
/// overrides). Tests that use it skip cleanly without it.
pub fn shared_scans() -> Option<PathBuf> {
    let dir = std::env::var_os("IMPRINT_SHARED_SCANS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/scans"));
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: no shared scans at {}", dir.display());
        None
    }
}

/// Every file below `dir` with one of the extensions, sorted.
pub fn files_with(dir: &std::path::Path, exts: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p
                .extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| exts.contains(&x.to_ascii_lowercase().as_str()))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// A phantom's scan as binary STL bytes.
pub fn phantom_stl(seed: u64, triangles: usize, defects: &str) -> Vec<u8> {
    let phantom = imprint_phantom::generate(&imprint_phantom::PhantomSpec {
        seed,
        triangles,
        defects: imprint_phantom::DefectMix::parse(defects).unwrap_or_else(|e| panic!("{e}")),
        ..Default::default()
    });
    let mut bytes = Vec::new();
    imprint_core::io::write_stl_binary(
        &phantom.scan.positions,
        &phantom.scan.triangles,
        &mut bytes,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    bytes
}

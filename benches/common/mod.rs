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

/// Benchmarks one analyzer plugin alone on `scan` with `case`, as `group/name`: the host's
/// derived data is computed once, outside the timing, as the host shares it among
/// analyzers. Skips (with a message) when the plugin library is not built.
#[allow(dead_code)] // Not every bench uses it.
pub fn bench_analyzer(
    c: &mut criterion::Criterion,
    crate_name: &str,
    names: (&str, &str),
    scan: &imprint_core::scan::Scan,
    case: &imprint_host::case::CaseFile,
) {
    bench_case(c, crate_name, names, std::slice::from_ref(scan), case);
}

/// [`bench_analyzer`] on a case of several scans (e.g. two arches and a bite record).
#[allow(dead_code)] // Not every bench uses it.
pub fn bench_case(
    c: &mut criterion::Criterion,
    crate_name: &str,
    (group, name): (&str, &str),
    scans: &[imprint_core::scan::Scan],
    case: &imprint_host::case::CaseFile,
) {
    use imprint_host::run::{parameters, run_plugins};
    let library = plugin_library(crate_name);
    if !library.exists() {
        eprintln!("skipped: build the workspace first (cargo build --release --workspace)");
        return;
    }
    let derived: Vec<_> = scans
        .iter()
        .map(imprint_core::derived::DerivedData::new)
        .collect();
    let (loaded, _) = imprint_host::plugins::load_all(&[library]);
    let params = parameters(&loaded, &[]).expect("params");
    // The derived data the analyzer needs, once, outside the timing.
    run_plugins(&loaded, &derived, case, &params, 2);
    let mut g = c.benchmark_group(group);
    g.sample_size(10)
        .measurement_time(std::time::Duration::from_secs(6));
    g.bench_function(name, |b| {
        b.iter(|| run_plugins(&loaded, &derived, case, &params, 2))
    });
    g.finish();
}

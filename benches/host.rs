//! Host overhead benchmarks: loading plugins, and one analyze call of a no-op plugin on a
//! 1M-triangle scan whose derived data is already computed (target ≤ 1 ms: the scan crosses
//! as borrowed slices, nothing is copied). Needs `cargo build --workspace` first, for the
//! plugin libraries.

use criterion::{criterion_group, criterion_main, Criterion};
use imprint_core::derived::DerivedData;
use imprint_core::shapes::{to_scan, wavy_surface};
use imprint_host::case::CaseFile;
use imprint_host::plugins;
use imprint_host::run::{parameters, run_plugins};
use std::time::Duration;

mod common;

fn host(c: &mut Criterion) {
    let libs = [
        common::plugin_library("imprint_plugin_spikes"),
        common::plugin_library("imprint_testplugin_fixture"),
    ];
    if libs.iter().any(|l| !l.exists()) {
        eprintln!("skipped: build the workspace first (cargo build --workspace)");
        return;
    }
    let mut g = c.benchmark_group("host");
    g.sample_size(20).measurement_time(Duration::from_secs(3));
    g.bench_function("load_2_plugins", |b| b.iter(|| plugins::load_all(&libs)));

    let scan = to_scan(wavy_surface(1_000_000));
    let derived = vec![DerivedData::new(&scan)];
    let (loaded, _) = plugins::load_all(&libs[1..]);
    let params = parameters(&loaded, &["fixture.behavior=noop".to_string()]).expect("params");
    let case = CaseFile::default();
    // Computes the derived data the fixture needs (its BVH) once, outside the timing.
    run_plugins(&loaded, &derived, &case, &params, 2);
    g.bench_function("noop_plugin_on_1m_triangles", |b| {
        b.iter(|| run_plugins(&loaded, &derived, &case, &params, 2))
    });
    g.finish();
}

criterion_group!(benches, host);
criterion_main!(benches);

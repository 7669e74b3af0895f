//! The `voids` analyzer alone on a 1M-triangle phantom arch (cast, random defects, labels
//! withheld): the host's derived data (boundary loops, adjacency, normals, tooth map) is
//! computed once outside the timing, as the host shares it among analyzers. Target (2-core
//! machine, see issue "voids"): ≤ 150 ms. Needs `cargo build --release --workspace` (or a
//! debug build) first, for the plugin library.

use criterion::{criterion_group, criterion_main, Criterion};
use imprint_core::derived::DerivedData;
use imprint_host::case::CaseFile;
use imprint_host::plugins;
use imprint_host::run::{parameters, run_plugins};
use imprint_phantom::{generate, PhantomSpec};
use std::time::Duration;

mod common;

fn voids(c: &mut Criterion) {
    let library = common::plugin_library("imprint_plugin_voids");
    if !library.exists() {
        eprintln!("skipped: build the workspace first (cargo build --release --workspace)");
        return;
    }
    let mut scan = generate(&PhantomSpec {
        seed: 3,
        triangles: 1_000_000,
        ..Default::default()
    })
    .scan;
    scan.labels = None;
    let derived = vec![DerivedData::new(&scan)];
    let (loaded, _) = plugins::load_all(&[library]);
    let params = parameters(&loaded, &[]).expect("params");
    let case = CaseFile::default();
    // The derived data the analyzer needs, once, outside the timing.
    run_plugins(&loaded, &derived, &case, &params, 2);
    let mut g = c.benchmark_group("1m_triangle_arch");
    g.sample_size(10).measurement_time(Duration::from_secs(6));
    g.bench_function("voids_analyzer", |b| {
        b.iter(|| run_plugins(&loaded, &derived, &case, &params, 2))
    });
    g.finish();
}

criterion_group!(benches, voids);
criterion_main!(benches);

//! The `margin` analyzer alone on a 1M-triangle phantom arch with two crown preparations
//! (labels withheld): the host's derived data (boundary loops, adjacency, tooth map, BVH) is
//! computed once outside the timing, as the host shares it among analyzers. Target (2-core
//! machine, see issue "margin capture"): ≤ 100 ms per prepared tooth, so ≤ 200 ms here. Needs `cargo build --release --workspace` (or a
//! debug build) first, for the plugin library.

use criterion::{criterion_group, criterion_main, Criterion};
use imprint_core::derived::DerivedData;
use imprint_host::case::CaseFile;
use imprint_host::plugins;
use imprint_host::run::{parameters, run_plugins};
use imprint_phantom::{generate, PhantomSpec};
use std::time::Duration;

mod common;

fn margin(c: &mut Criterion) {
    let library = common::plugin_library("imprint_plugin_margin");
    if !library.exists() {
        eprintln!("skipped: build the workspace first (cargo build --release --workspace)");
        return;
    }
    let phantom = generate(&PhantomSpec {
        seed: 4,
        triangles: 1_000_000,
        defects: imprint_phantom::DefectMix::parse("preparations=2").expect("mix"),
        ..Default::default()
    });
    let teeth: Vec<serde_json::Value> = phantom
        .truth
        .preparations
        .iter()
        .map(|p| serde_json::json!({"tooth": p.tooth}))
        .collect();
    let case_json = serde_json::json!({
        "restoration": "crown",
        "prepared_teeth": teeth,
        "scans": [{"path": "scan.stl", "role": phantom.truth.jaw}],
    });
    let mut scan = phantom.scan;
    scan.labels = None;
    let derived = vec![DerivedData::new(&scan)];
    let (loaded, _) = plugins::load_all(&[library]);
    let params = parameters(&loaded, &[]).expect("params");
    let case = CaseFile::parse(case_json.to_string().as_bytes()).expect("case");
    // The derived data the analyzer needs, once, outside the timing.
    run_plugins(&loaded, &derived, &case, &params, 2);
    let mut g = c.benchmark_group("1m_triangle_arch");
    g.sample_size(10).measurement_time(Duration::from_secs(6));
    g.bench_function("margin_analyzer_two_preparations", |b| {
        b.iter(|| run_plugins(&loaded, &derived, &case, &params, 2))
    });
    g.finish();
}

criterion_group!(benches, margin);
criterion_main!(benches);

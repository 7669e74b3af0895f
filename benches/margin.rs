//! The `margin` analyzer alone on a 1M-triangle phantom arch with two crown preparations
//! (labels withheld): the host's derived data (boundary loops, adjacency, tooth map, BVH) is
//! computed once outside the timing, as the host shares it among analyzers. Target (2-core
//! machine, see issue "margin capture"): ≤ 100 ms per prepared tooth, so ≤ 200 ms here.
//! Needs `cargo build --release --workspace` (or a debug build) first, for the plugin
//! library.

use criterion::{criterion_group, criterion_main, Criterion};
use imprint_host::case::CaseFile;
use imprint_phantom::{generate, PhantomSpec};

mod common;

fn margin(c: &mut Criterion) {
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
    let case = CaseFile::parse(case_json.to_string().as_bytes()).expect("case");
    let mut scan = phantom.scan;
    scan.labels = None;
    common::bench_analyzer(
        c,
        "imprint_plugin_margin",
        ("1m_triangle_arch", "margin_analyzer_two_preparations"),
        &scan,
        &case,
    );
}

criterion_group!(benches, margin);
criterion_main!(benches);

//! The `pull-risk` analyzer alone on a 1M-triangle phantom arch (cast, natural crowns with
//! two deep undercut locks and an open embrasure, labels withheld, no path of withdrawal in
//! the case: the survey estimates it): the host's derived data (adjacency, normals, tooth
//! map, BVH) is computed once outside the timing, as the host shares it among analyzers.
//! Target (2-core machine, see issue "loose-tooth pull risk"): ≤ 300 ms. Needs `cargo build
//! --release --workspace` (or a debug build) first, for the plugin library.

use criterion::{criterion_group, criterion_main, Criterion};
use imprint_host::case::CaseFile;
use imprint_phantom::{generate, DefectMix, PhantomSpec};

mod common;

fn pull(c: &mut Criterion) {
    let mut scan = generate(&PhantomSpec {
        seed: 701,
        triangles: 1_000_000,
        defects: DefectMix::parse("locks=2,embrasures=1").ok().flatten(),
        ..Default::default()
    })
    .scan;
    scan.labels = None;
    common::bench_analyzer(
        c,
        "imprint_plugin_pull",
        ("1m_triangle_arch", "pull_risk_analyzer"),
        &scan,
        &CaseFile::default(),
    );
}

criterion_group!(benches, pull);
criterion_main!(benches);

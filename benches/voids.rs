//! The `voids` analyzer alone on a 1M-triangle phantom arch (cast, random defects, labels
//! withheld): the host's derived data (boundary loops, adjacency, normals, tooth map) is
//! computed once outside the timing, as the host shares it among analyzers. Target (2-core
//! machine, see issue "voids"): ≤ 150 ms. Needs `cargo build --release --workspace` (or a
//! debug build) first, for the plugin library.

use criterion::{criterion_group, criterion_main, Criterion};
use imprint_host::case::CaseFile;
use imprint_phantom::{generate, PhantomSpec};

mod common;

fn voids(c: &mut Criterion) {
    let mut scan = generate(&PhantomSpec {
        seed: 3,
        triangles: 1_000_000,
        ..Default::default()
    })
    .scan;
    scan.labels = None;
    common::bench_analyzer(
        c,
        "imprint_plugin_voids",
        ("1m_triangle_arch", "voids_analyzer"),
        &scan,
        &CaseFile::default(),
    );
}

criterion_group!(benches, voids);
criterion_main!(benches);

//! The `drag-marks` analyzer alone on a 1M-triangle phantom arch (cast, two drag sets and a
//! double surface, labels withheld): the host's derived data (adjacency, normals, tooth map,
//! BVH) is computed once outside the timing, as the host shares it among analyzers. Target
//! (2-core machine, see issue "drag marks"): ≤ 200 ms. Needs `cargo build --release
//! --workspace` (or a debug build) first, for the plugin library.

use criterion::{criterion_group, criterion_main, Criterion};
use imprint_host::case::CaseFile;
use imprint_phantom::{generate, DefectMix, PhantomSpec};

mod common;

fn drag(c: &mut Criterion) {
    let mut scan = generate(&PhantomSpec {
        seed: 603,
        triangles: 1_000_000,
        defects: DefectMix::parse("drags=2,doubles=1").ok().flatten(),
        ..Default::default()
    })
    .scan;
    scan.labels = None;
    common::bench_analyzer(
        c,
        "imprint_plugin_drag",
        ("1m_triangle_arch", "drag_marks_analyzer"),
        &scan,
        &CaseFile::default(),
    );
}

criterion_group!(benches, drag);
criterion_main!(benches);

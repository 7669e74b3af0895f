//! The `bite` analyzer alone on a case of two 500k-triangle arches and a digital buccal bite
//! scan, the lower arch exported 0.4 mm and 1° off the recorded relation (labels withheld):
//! registration of both arches to the record, the distance field over the lower teeth,
//! contacts, clearance over a preparation. The host's derived data (normals, tooth maps,
//! BVHs) is computed once outside the timing, as the host shares it among analyzers.
//! Target (2-core machine, see issue "bite registration"): ≤ 300 ms. Needs `cargo build
//! --release --workspace` (or a debug build) first, for the plugin library.

use criterion::{criterion_group, criterion_main, Criterion};
use imprint_host::case::CaseFile;
use imprint_phantom::bite::{generate_bite, BiteRecord, BiteSpec, Motion};

mod common;

fn bite(c: &mut Criterion) {
    let phantom = generate_bite(&BiteSpec {
        seed: 7,
        triangles: 500_000,
        record: BiteRecord::Buccal,
        misregistration: Some(Motion::of_size(7, 0.4, 1.0)),
        preparations: 1,
        tight_clearance: true,
    });
    let case: CaseFile = serde_json::from_value(phantom.case_json()).expect("phantom case");
    let scans: Vec<_> = [&phantom.upper, &phantom.lower]
        .into_iter()
        .chain(phantom.bite.as_ref())
        .map(|s| {
            let mut s = s.clone();
            s.labels = None;
            s
        })
        .collect();
    common::bench_case(
        c,
        "imprint_plugin_bite",
        ("two_500k_triangle_arches", "bite_analyzer"),
        &scans,
        &case,
    );
}

criterion_group!(benches, bite);
criterion_main!(benches);

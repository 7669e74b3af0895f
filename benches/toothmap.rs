//! Tooth map and arch frame on a 1M-triangle phantom arch (labels withheld, random pose).
//! Target (2-core machine, see issue "Tooth map"): the map and frame ≤ 150 ms, timed on top
//! of the shared derived data it reads (normals, adjacency, boundary loops, components),
//! which the host computes once for every analyzer; the whole chain from a bare scan is
//! timed too.

use criterion::{criterion_group, criterion_main, Criterion};
use imprint_core::derived::{DerivedData, DerivedKind};
use imprint_core::toothmap::{build, MapHints};
use imprint_phantom::{generate, PhantomSpec};
use std::hint::black_box;
use std::time::Duration;

fn toothmap(c: &mut Criterion) {
    let phantom = generate(&PhantomSpec {
        seed: 3,
        triangles: 1_000_000,
        ..Default::default()
    });
    let mut scan = phantom.scan;
    scan.labels = None;
    let mut g = c.benchmark_group("1m_triangle_arch");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    let shared = DerivedData::new(&scan);
    shared.ensure(&[
        DerivedKind::FaceNormals,
        DerivedKind::VertexNormals,
        DerivedKind::Adjacency,
        DerivedKind::BoundaryLoops,
        DerivedKind::Components,
    ]);
    g.bench_function("tooth_map_given_shared_derived_data", |b| {
        b.iter(|| black_box(build(&shared, &MapHints::default()).teeth.len()))
    });
    g.bench_function("tooth_map_from_bare_scan", |b| {
        b.iter(|| {
            let d = DerivedData::new(&scan);
            black_box(d.tooth_map().teeth.len())
        })
    });
    g.finish();
}

criterion_group!(benches, toothmap);
criterion_main!(benches);

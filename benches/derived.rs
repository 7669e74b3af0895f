//! Load and derived-data benchmarks on a generated 1M-triangle binary STL (a wavy, open,
//! scan-like surface, ~500k vertices). Targets (2-core machine, see issue "Foundation"):
//! load + weld ≤ 150 ms; boundary loops and components ≤ 75 ms each; vertex normals ≤ 20 ms;
//! curvature ≤ 150 ms; BVH build + 100k rays ≤ 400 ms (build and queries timed apart).

use criterion::{criterion_group, criterion_main, Criterion};
use imprint_core::derived::{BoundaryLoops, Components, Csr, Curvature, DerivedData, EdgeMap};
use imprint_core::io::{self, write_stl_binary};
use imprint_core::shapes::wavy_surface;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

/// Writes (once) the 1M-triangle STL the benches load, under `target/bench-data/`.
fn bench_stl() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    let path = dir.join("wavy_1m.stl");
    if !path.exists() {
        let (p, t) = wavy_surface(1_000_000);
        let _ = std::fs::create_dir_all(&dir);
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path).expect("bench file"));
        write_stl_binary(&p, &t, &mut out).expect("write bench STL");
    }
    path
}

fn rays(n: usize) -> Vec<([f32; 3], [f32; 3])> {
    (0..n)
        .map(|i| {
            let (x, y) = ((i % 316) as f32 * 0.19, (i / 316) as f32 * 0.19);
            ([x, y, 20.0], [0.02, -0.01, -1.0])
        })
        .collect()
}

fn derived(c: &mut Criterion) {
    let path = bench_stl();
    let mut g = c.benchmark_group("1m_triangles");
    g.sample_size(10).measurement_time(Duration::from_secs(4));
    g.bench_function("load_weld_stl", |b| {
        b.iter(|| io::load(&path).expect("load"))
    });
    let scan = io::load(&path).expect("load");
    let n = scan.vertex_count();
    let vf = Csr::vertex_faces(n, &scan.triangles);
    let edges = EdgeMap::build(&scan.triangles, &vf);
    let comps = Components::build(&scan);
    let d = DerivedData::new(&scan);
    let normals = d.vertex_normals().to_vec();
    let on_boundary = edges.boundary_vertices(n);
    g.bench_function("vertex_faces", |b| {
        b.iter(|| Csr::vertex_faces(n, &scan.triangles))
    });
    g.bench_function("edge_map", |b| {
        b.iter(|| EdgeMap::build(&scan.triangles, &vf))
    });
    g.bench_function("boundary_loops_given_edges", |b| {
        b.iter(|| BoundaryLoops::build(&scan, &edges, &comps))
    });
    g.bench_function("boundary_loops_from_scratch", |b| {
        // As the host computes them: edge map and components side by side, then the loops.
        b.iter(|| {
            let d = DerivedData::new(&scan);
            black_box(d.boundary_loops().loops.len())
        })
    });
    g.bench_function("components", |b| b.iter(|| Components::build(&scan)));
    g.bench_function("face_normals_areas", |b| {
        b.iter(|| imprint_core::derived::face_normals_and_areas(&scan.positions, &scan.triangles))
    });
    g.bench_function("vertex_normals", |b| {
        b.iter(|| imprint_core::derived::vertex_normals(&scan.positions, &scan.triangles))
    });
    g.bench_function("adjacency", |b| b.iter(|| Csr::adjacency(n, &edges)));
    g.bench_function("curvature", |b| {
        b.iter(|| Curvature::build(&scan.positions, &scan.triangles, &normals, &on_boundary))
    });
    g.bench_function("bvh_build", |b| {
        b.iter(|| imprint_core::derived::Bvh::build(&scan.positions, &scan.triangles))
    });
    let bvh = imprint_core::derived::Bvh::build(&scan.positions, &scan.triangles);
    let rays = rays(100_000);
    g.bench_function("bvh_100k_rays", |b| {
        use rayon::prelude::*;
        b.iter(|| {
            rays.par_iter()
                .filter(|(o, dir)| bvh.cast_ray(*o, *dir, 100.0).is_some())
                .count()
        })
    });
    g.bench_function("bvh_100k_closest_points", |b| {
        use rayon::prelude::*;
        b.iter(|| {
            rays.par_iter()
                .filter(|(o, _)| bvh.closest_point([o[0], o[1], 1.0], 5.0).is_some())
                .count()
        })
    });
    g.bench_function("all_derived_ensure", |b| {
        b.iter(|| {
            let d = DerivedData::new(&scan);
            d.ensure(&imprint_core::derived::DerivedKind::ALL);
            black_box(d.computed().len())
        })
    });
    g.finish();
}

criterion_group!(benches, derived);
criterion_main!(benches);

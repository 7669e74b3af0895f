//! Derived scan data on constructed meshes with known answers.

use imprint_core::derived::DerivedData;
use imprint_core::io::{weld, Weld};
use imprint_core::shapes::{grid_plane, icosphere, open_box, punch_holes, to_scan};
use imprint_core::Scan;
use std::f32::consts::PI;

#[test]
fn sphere_curvature_is_one_over_radius() {
    let r = 5.0;
    let scan = to_scan(icosphere(r, 4));
    let d = DerivedData::new(&scan);
    let c = d.curvature();
    for v in 0..scan.vertex_count() {
        assert!(
            (c.mean[v] - 1.0 / r).abs() < 0.02 / r,
            "H[{v}] = {}",
            c.mean[v]
        );
        assert!(
            (c.gaussian[v] - 1.0 / (r * r)).abs() < 0.05 / (r * r),
            "K[{v}] = {}",
            c.gaussian[v]
        );
        assert!((c.k1[v] - 1.0 / r).abs() < 0.05 / r && (c.k2[v] - 1.0 / r).abs() < 0.05 / r);
    }
    assert!(c.on_boundary.iter().all(|b| !b));
}

/// The same scan gives bit-identical curvature on any number of threads (the per-vertex sums
/// were added in a tree rayon shaped by the thread count).
#[test]
fn curvature_does_not_depend_on_the_thread_count() {
    let scan = to_scan(imprint_core::shapes::wavy_surface(60_000));
    let on = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        pool.install(|| DerivedData::new(&scan).curvature().clone())
    };
    let one = on(1);
    for threads in [2, 3, 5] {
        assert!(on(threads) == one, "{threads} threads differ from one");
    }
}

#[test]
fn plane_curvature_is_zero_and_boundary_marked() {
    let scan = to_scan(grid_plane(20, 10.0));
    let d = DerivedData::new(&scan);
    let c = d.curvature();
    assert!(c.mean.iter().chain(&c.gaussian).all(|v| v.abs() < 1e-4));
    assert_eq!(c.on_boundary.iter().filter(|b| **b).count(), 80);
}

#[test]
fn plane_with_three_holes_has_one_outer_loop_and_three_holes() {
    let centres = [[12.0, 12.0], [35.0, 15.0], [25.0, 38.0]];
    let radius = 3.0;
    let scan = to_scan(punch_holes(grid_plane(100, 50.0), &centres, radius));
    let d = DerivedData::new(&scan);
    let loops = d.boundary_loops();
    assert_eq!(loops.loops.len(), 4);
    let outer: Vec<_> = loops.outer().collect();
    assert_eq!(outer.len(), 1);
    assert!(
        (outer[0].length_mm - 200.0).abs() < 1e-3,
        "outer length {}",
        outer[0].length_mm
    );
    for hole in loops.holes() {
        let near = centres
            .iter()
            .map(|c| (hole.centroid[0] - c[0]).hypot(hole.centroid[1] - c[1]))
            .fold(f32::MAX, f32::min);
        assert!(
            near < 0.3,
            "hole centroid {:?} is {near} mm from every true centre",
            hole.centroid
        );
        assert!(
            (hole.diameter_mm - 2.0 * radius).abs() < 0.15 * 2.0 * radius,
            "diameter {}",
            hole.diameter_mm
        );
        let area = PI * radius * radius;
        assert!(
            (hole.spanning_area_mm2 - area).abs() < 0.2 * area,
            "area {}",
            hole.spanning_area_mm2
        );
        assert!(hole.closed && !hole.is_outer);
    }
    assert_eq!(d.components().count(), 1);
}

#[test]
fn open_box_has_its_rim_as_outer_loop() {
    let scan = to_scan(open_box(10.0, 8));
    let d = DerivedData::new(&scan);
    let loops = d.boundary_loops();
    assert_eq!(loops.loops.len(), 1);
    assert!(loops.loops[0].is_outer);
    assert!((loops.loops[0].length_mm - 40.0).abs() < 1e-3);
    assert_eq!(loops.loops[0].vertices.len(), 32);
    assert!(d.edges().non_manifold.is_empty());
    assert_eq!(d.edges().flipped, 0, "the box is consistently wound");
    // Outward winding: the bottom's normals point down.
    let bottom = d.face_normals()[0];
    assert!(bottom[2] < -0.99, "{bottom:?}");
}

#[test]
fn closed_cast_with_a_hole_has_no_outer_loop() {
    let (positions, mut triangles) = icosphere(20.0, 4);
    // The four children of one face of the last subdivision: one triangular hole.
    triangles.drain(0..4);
    let scan = to_scan((positions, triangles));
    let d = DerivedData::new(&scan);
    let loops = d.boundary_loops();
    assert_eq!(loops.loops.len(), 1);
    assert!(
        !loops.loops[0].is_outer,
        "a small hole in a closed cast is not a trim boundary"
    );
}

#[test]
fn components_count_disjoint_shells_largest_first() {
    let (mut p, mut t) = icosphere(2.0, 2);
    let (q, u) = icosphere(1.0, 1);
    let offset = p.len() as u32;
    p.extend(q.iter().map(|v| [v[0] + 10.0, v[1], v[2]]));
    t.extend(u.iter().map(|f| f.map(|i| i + offset)));
    let scan = to_scan((p, t));
    let d = DerivedData::new(&scan);
    let c = d.components();
    assert_eq!(c.count(), 2);
    assert_eq!(c.info[0].faces, 320);
    assert_eq!(c.info[1].faces, 80);
    assert!((c.info[0].area_mm2 - 4.0 * PI * 4.0).abs() < 0.05 * 4.0 * PI * 4.0);
    assert_eq!(c.face_component[0], 0);
    assert_eq!(*c.face_component.last().unwrap_or(&9), 1);
}

#[test]
fn non_manifold_and_flipped_edges_are_found() {
    let positions = vec![
        [0.0, 0.0, 0.0],
        [1.0, 0.0, 0.0],
        [0.0, 1.0, 0.0],
        [0.0, -1.0, 0.0],
        [0.0, 0.0, 1.0],
    ];
    let scan = Scan::new(positions.clone(), vec![[0, 1, 2], [1, 0, 3], [0, 1, 4]])
        .unwrap_or_else(|e| panic!("{e}"));
    let d = DerivedData::new(&scan);
    assert_eq!(d.edges().non_manifold.len(), 1);
    let flipped =
        Scan::new(positions, vec![[0, 1, 2], [0, 1, 3]]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(DerivedData::new(&flipped).edges().flipped, 1);
}

#[test]
fn normals_areas_and_adjacency_on_a_sphere() {
    let r = 3.0;
    let scan = to_scan(icosphere(r, 3));
    let d = DerivedData::new(&scan);
    let total: f32 = d.face_areas().iter().sum();
    assert!(
        (total - 4.0 * PI * r * r).abs() < 0.02 * 4.0 * PI * r * r,
        "area {total}"
    );
    for (p, n) in scan.positions.iter().zip(d.vertex_normals()) {
        let dot = (p[0] * n[0] + p[1] * n[1] + p[2] * n[2]) / r;
        assert!(dot > 0.999, "normal not radial: {dot}");
    }
    let adj = d.adjacency();
    let degrees: Vec<usize> = (0..adj.rows()).map(|v| adj.row(v).len()).collect();
    assert_eq!(
        degrees.iter().filter(|&&k| k == 5).count(),
        12,
        "icosahedron's vertices keep degree 5"
    );
    assert!(degrees.iter().all(|&k| k == 5 || k == 6));
}

#[test]
fn bvh_ray_casts_and_closest_points_on_a_sphere() {
    let r = 4.0;
    let scan = to_scan(icosphere(r, 4));
    let d = DerivedData::new(&scan);
    let bvh = d.bvh();
    let hit = bvh
        .cast_ray([10.0, 0.0, 0.0], [-1.0, 0.0, 0.0], 100.0)
        .expect("hits the sphere");
    assert!((hit.distance - (10.0 - r)).abs() < 0.01, "{hit:?}");
    assert!(hit.normal[0] > 0.99, "outward normal {:?}", hit.normal);
    assert!(bvh
        .cast_ray([10.0, 0.0, 0.0], [1.0, 0.0, 0.0], 100.0)
        .is_none());
    assert!(bvh
        .cast_ray([10.0, 0.0, 0.0], [0.0, 0.0, 0.0], 100.0)
        .is_none());
    let cp = bvh
        .closest_point([0.0, 7.0, 0.0], 10.0)
        .expect("within range");
    assert!(
        (cp.distance - 3.0).abs() < 0.01 && (cp.point[1] - r).abs() < 0.01,
        "{cp:?}"
    );
    assert!(
        bvh.closest_point([0.0, 70.0, 0.0], 10.0).is_none(),
        "capped by max distance"
    );
}

/// `ensure` starts a piece once everything it is computed from is done: the prerequisites
/// must name every piece the computation reads (else it computes that piece itself, maybe
/// twice) and form no cycle (else the piece never starts).
#[test]
fn prerequisites_are_complete_and_acyclic() {
    use imprint_core::derived::DerivedKind;
    let scan = small_arch(5, 6_000);
    for k in DerivedKind::ALL {
        // Acyclic: a kind is not among its own prerequisites, however far down.
        let below = DerivedKind::with_prerequisites(k.prerequisites());
        assert!(
            !below.contains(&k),
            "{k:?} depends on itself through {below:?}"
        );
        // Complete: computing the kind alone computes nothing beyond its prerequisites.
        let d = DerivedData::new(&scan);
        d.ensure(&[k]);
        let mut expected = DerivedKind::with_prerequisites(&[k]);
        let mut done = d.computed();
        expected.sort();
        done.sort();
        assert_eq!(done, expected, "computing {k:?}");
    }
}

/// Many scans' derived data computed at once on a pool of 8 threads, as the host does for a
/// batch: every piece, the tooth map too. Computed inside their `OnceLock`s, the pieces
/// deadlocked here within the first few rounds (a thread waiting inside one piece's
/// computation stole a task that needed that same piece). A hang fails the test after two
/// minutes instead of holding the suite.
#[test]
fn ensure_on_many_threads_does_not_deadlock() {
    use imprint_core::derived::DerivedKind;
    use rayon::prelude::*;
    let scan = small_arch(3, 8_000);
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(8)
            .build()
            .expect("a thread pool");
        let complete = pool.install(|| {
            (0..ROUNDS).all(|_| {
                let all: Vec<DerivedData<'_>> = (0..4).map(|_| DerivedData::new(&scan)).collect();
                all.par_iter().for_each(|d| d.ensure(&DerivedKind::ALL));
                all.iter()
                    .all(|d| d.computed().len() == DerivedKind::ALL.len())
            })
        });
        let _ = done.send(complete);
    });
    match finished.recv_timeout(std::time::Duration::from_secs(120)) {
        Ok(complete) => assert!(complete, "a piece was missing after ensure"),
        Err(_) => panic!("derived data for 4 scans on 8 threads: not done in 2 minutes (deadlock)"),
    }
}

/// A phantom arch (upper or lower by seed) of about `triangles` triangles.
fn small_arch(seed: u64, triangles: usize) -> Scan {
    imprint_phantom::generate(&imprint_phantom::PhantomSpec {
        seed,
        triangles,
        ..Default::default()
    })
    .scan
}

/// Rounds of [`ensure_on_many_threads_does_not_deadlock`].
const ROUNDS: usize = 25;

#[test]
fn ensure_computes_requested_pieces_once() {
    use imprint_core::derived::DerivedKind;
    let scan = to_scan(icosphere(1.0, 2));
    let d = DerivedData::new(&scan);
    assert!(d.computed().is_empty());
    d.ensure(&[DerivedKind::Curvature, DerivedKind::Bvh]);
    let done = d.computed();
    for k in [
        DerivedKind::Curvature,
        DerivedKind::Bvh,
        DerivedKind::VertexNormals,
        DerivedKind::EdgeMap,
    ] {
        assert!(done.contains(&k), "{k:?} missing from {done:?}");
    }
    let first = d.curvature() as *const _;
    assert_eq!(first, d.curvature() as *const _, "computed once");
}

#[test]
fn tolerance_weld_merges_near_duplicates_in_first_occurrence_order() {
    let soup = [
        [0.0, 0.0, 0.0],
        [1.0, 0.0, 0.0],
        [0.0, 1.0, 0.0],
        [1.0005, 0.0, 0.0],
        [1.0, 1.0, 0.0],
        [0.0, 1.0004, 0.0],
    ];
    let (exact, _) = weld(&soup, Weld::Exact);
    assert_eq!(exact.len(), 6);
    let (p, t) = weld(&soup, Weld::Tolerance(0.001));
    assert_eq!(p.len(), 4);
    assert_eq!(t, vec![[0, 1, 2], [1, 3, 2]]);
    let (_, t) = weld(
        &[
            [-0.0, 0.0, 0.0],
            [1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            [0.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            [-1.0, 0.0, 0.0],
        ],
        Weld::Exact,
    );
    assert_eq!(t[1][0], 0, "-0.0 and +0.0 weld");
}

/// Sequential reference: components by breadth-first search over shared vertices.
fn reference_component_count(n: usize, triangles: &[[u32; 3]]) -> usize {
    let mut faces_of = vec![Vec::new(); n];
    for (f, t) in triangles.iter().enumerate() {
        t.iter().for_each(|&v| faces_of[v as usize].push(f));
    }
    let mut seen = vec![false; triangles.len()];
    let mut count = 0;
    for start in 0..triangles.len() {
        if seen[start] {
            continue;
        }
        count += 1;
        let mut stack = vec![start];
        seen[start] = true;
        while let Some(f) = stack.pop() {
            for &v in &triangles[f] {
                for &g in &faces_of[v as usize] {
                    if !seen[g] {
                        seen[g] = true;
                        stack.push(g);
                    }
                }
            }
        }
    }
    count
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(32))]

    #[test]
    fn union_find_components_match_a_depth_first_search(
        n in 3usize..400,
        raw in proptest::collection::vec((0u32..400, 0u32..400, 0u32..400), 1..5_000),
    ) {
        let triangles: Vec<[u32; 3]> = raw.iter().map(|&(a, b, c)| [a % n as u32, b % n as u32, c % n as u32]).collect();
        let positions: Vec<[f32; 3]> = (0..n).map(|i| [i as f32, (i * i % 7) as f32, 0.0]).collect();
        let scan = Scan::new(positions, triangles.clone()).unwrap_or_else(|e| panic!("{e}"));
        let c = DerivedData::new(&scan).components().clone();
        proptest::prop_assert_eq!(c.count(), reference_component_count(n, &triangles));
        proptest::prop_assert_eq!(c.info.iter().map(|i| i.faces).sum::<usize>(), triangles.len());
        for (t, &comp) in triangles.iter().zip(&c.face_component) {
            for &v in t {
                proptest::prop_assert_eq!(c.vertex_component[v as usize], comp);
            }
        }
    }
}

//! Finish lines on point clouds without triangles (e.g. the points a lab's software keeps
//! around a preparation): each radial section is the slab of points within a fraction of
//! the point spacing of the half-plane, ordered into profiles by the longest path through
//! each tree of their minimum spanning forest in the section plane (one profile per piece,
//! as a mesh section has: the prepared tooth, a neighbour's wall). The rest (kinks, the
//! line's dynamic programme, re-centring) is the mesh tracer's.
//!
//! ```
//! use imprint_plugin_margin::cloud::PointHood;
//! use imprint_plugin_margin::section::{Sections, ToothFrame};
//! // A disc of points at z = 0, radius 3 mm: every section is one profile outward.
//! let points: Vec<[f32; 3]> = (0..60)
//!     .flat_map(|i| (1..30).map(move |j| (i, j)))
//!     .map(|(i, j)| {
//!         let (a, r) = (i as f32 * std::f32::consts::TAU / 60.0, j as f32 * 0.1);
//!         [r * a.cos(), r * a.sin(), 0.0]
//!     })
//!     .collect();
//! let frame = ToothFrame::new([0.0; 3], [0.0, 0.0, 1.0]);
//! let hood = PointHood::new(&frame, &points, 4.0, (-1.0, 1.0), 0.1);
//! let chains = hood.section(0.3);
//! assert_eq!(chains.len(), 1);
//! assert!(chains[0].points.len() > 10);
//! ```

use crate::section::{Chain, Sections, ToothFrame};

/// Angular buckets for the points (1° each).
const BUCKETS: usize = 360;
/// Points further apart than this in a section are not joined into one profile, mm: a
/// point cloud cut from a scan keeps the scan's vertices, and on steep walls a scanner's (or
/// an exporter's) triangles stretch to 0.5-1 mm.
const MAX_GAP_MM: f32 = 1.0;
/// Points nearer the axis than this are left out of sections (the slab is too wide in
/// angle there, and the line never runs there), mm.
const MIN_RHO: f32 = 1.0;

/// The points around one tooth, in its cylindrical frame, bucketed by angle.
pub struct PointHood {
    local: Vec<[f32; 3]>,
    buckets: Vec<Vec<u32>>,
    /// Half-width of a section's slab, mm.
    slab: f32,
}

impl PointHood {
    /// The points within `radius` of the axis and `[below, above]` along it; `spacing` is
    /// the cloud's typical distance between neighbouring points, mm.
    pub fn new(
        frame: &ToothFrame,
        points: &[[f32; 3]],
        radius: f32,
        (below, above): (f32, f32),
        spacing: f32,
    ) -> Self {
        let local = points
            .iter()
            .map(|p| frame.local(*p))
            .filter(|l| {
                let rho2 = l[0] * l[0] + l[1] * l[1];
                rho2 <= radius * radius
                    && rho2 >= MIN_RHO * MIN_RHO
                    && (below..=above).contains(&l[2])
            })
            .collect();
        Self::from_local(local, spacing)
    }

    fn from_local(local: Vec<[f32; 3]>, spacing: f32) -> Self {
        let tau = std::f32::consts::TAU;
        let mut buckets = vec![Vec::new(); BUCKETS];
        for (i, l) in local.iter().enumerate() {
            let a = l[1].atan2(l[0]).rem_euclid(tau);
            buckets[((a / tau) * BUCKETS as f32) as usize % BUCKETS].push(i as u32);
        }
        Self {
            local,
            buckets,
            slab: 0.75 * spacing,
        }
    }

    /// The slab's points as `(rho, z)` with their indices.
    fn slab_points(&self, theta: f32) -> Vec<([f32; 2], u32)> {
        let (s, c) = theta.sin_cos();
        let tau = std::f32::consts::TAU;
        let centre = ((theta.rem_euclid(tau) / tau) * BUCKETS as f32) as isize;
        // Widest angle the slab spans at the innermost radius kept.
        let reach = ((self.slab / MIN_RHO) / tau * BUCKETS as f32).ceil() as isize + 1;
        let mut out = Vec::new();
        for b in centre - reach..=centre + reach {
            for &i in &self.buckets[b.rem_euclid(BUCKETS as isize) as usize] {
                let l = self.local[i as usize];
                let side = c * l[1] - s * l[0];
                let rho = c * l[0] + s * l[1];
                if side.abs() <= self.slab && rho > 0.0 {
                    out.push(([rho, l[2]], i));
                }
            }
        }
        out
    }
}

impl Sections for PointHood {
    fn section(&self, theta: f32) -> Vec<Chain> {
        let points = self.slab_points(theta);
        tree_paths(&points, MAX_GAP_MM)
            .into_iter()
            .map(|path| {
                let mut chain = Chain {
                    points: path.iter().map(|&k| points[k].0).collect(),
                    vertices: path.iter().map(|&k| points[k].1).collect(),
                };
                if chain.points.first().map(|p| p[0]) > chain.points.last().map(|p| p[0]) {
                    chain.points.reverse();
                    chain.vertices.reverse();
                }
                chain
            })
            .collect()
    }

    fn recentred(&self, old: &ToothFrame, new: &ToothFrame) -> Self {
        let local = self
            .local
            .iter()
            .map(|l| new.local(old.to_world(*l)))
            .filter(|l| l[0] * l[0] + l[1] * l[1] >= MIN_RHO * MIN_RHO)
            .collect();
        Self::from_local(local, self.slab / 0.75)
    }
}

/// The longest path (by length) through each tree of the minimum spanning forest of
/// `points` in the plane, edges no longer than `max_gap`: a thin band of points along a
/// curve becomes that curve in order, its stray side-branches dropped; each piece the gaps
/// leave apart (the prepared tooth, a neighbour's wall) is a path of its own, as a mesh
/// section's pieces are. Pieces of fewer than three points are left out.
fn tree_paths(points: &[([f32; 2], u32)], max_gap: f32) -> Vec<Vec<usize>> {
    let n = points.len();
    let d = |a: usize, b: usize| {
        let (p, q) = (points[a].0, points[b].0);
        (p[0] - q[0]).hypot(p[1] - q[1])
    };
    // Prim's algorithm from every unreached point (a forest when gaps exceed `max_gap`).
    let mut adjacent: Vec<Vec<(usize, f32)>> = vec![Vec::new(); n];
    let mut in_tree = vec![false; n];
    let mut best = vec![(f32::INFINITY, usize::MAX); n];
    let mut roots = Vec::new();
    for root in 0..n {
        if in_tree[root] {
            continue;
        }
        best[root] = (0.0, usize::MAX);
        let mut size = 0;
        loop {
            let next = (0..n)
                .filter(|&i| !in_tree[i] && best[i].0 <= max_gap)
                .min_by(|&a, &b| best[a].0.total_cmp(&best[b].0));
            let Some(u) = next else { break };
            in_tree[u] = true;
            size += 1;
            if best[u].1 != usize::MAX {
                let (v, w) = (best[u].1, best[u].0);
                adjacent[u].push((v, w));
                adjacent[v].push((u, w));
            }
            for i in 0..n {
                if !in_tree[i] {
                    let w = d(u, i);
                    if w < best[i].0 {
                        best[i] = (w, u);
                    }
                }
            }
        }
        if size >= 3 {
            roots.push(root);
        }
    }
    // In each tree: the farthest point from its root, then the farthest from that.
    roots
        .into_iter()
        .map(|root| {
            let (far, _) = farthest(&adjacent, root);
            let (end, from) = farthest(&adjacent, far);
            let mut path = vec![end];
            while let Some(&p) = path
                .last()
                .and_then(|&k| from.get(k))
                .filter(|&&p| p != usize::MAX)
            {
                path.push(p);
            }
            path
        })
        .filter(|path| path.len() >= 3)
        .collect()
}

/// The point farthest (along the tree) from `start`, and each point's predecessor on the
/// way there.
fn farthest(adjacent: &[Vec<(usize, f32)>], start: usize) -> (usize, Vec<usize>) {
    let n = adjacent.len();
    let mut dist = vec![f32::INFINITY; n];
    let mut from = vec![usize::MAX; n];
    dist[start] = 0.0;
    let mut stack = vec![start];
    while let Some(u) = stack.pop() {
        for &(v, w) in &adjacent[u] {
            if dist[v].is_infinite() {
                dist[v] = dist[u] + w;
                from[v] = u;
                stack.push(v);
            }
        }
    }
    let end = (0..n)
        .filter(|&i| dist[i].is_finite())
        .max_by(|&a, &b| dist[a].total_cmp(&dist[b]))
        .unwrap_or(start);
    (end, from)
}

/// The typical distance from a point to its nearest neighbour (median over up to 200 points
/// spread through the cloud), mm; `None` for fewer than two points.
pub fn spacing(points: &[[f32; 3]]) -> Option<f32> {
    if points.len() < 2 {
        return None;
    }
    let step = (points.len() / 200).max(1);
    let mut d: Vec<f32> = (0..points.len())
        .step_by(step)
        .map(|i| {
            points
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(_, q)| (0..3).map(|k| (points[i][k] - q[k]).powi(2)).sum::<f32>())
                .fold(f32::INFINITY, f32::min)
                .sqrt()
        })
        .collect();
    d.sort_by(f32::total_cmp);
    Some(d[d.len() / 2])
}

/// A first frame for the tooth a cloud of points around one preparation shows: centred on
/// the cloud, its axis along the direction the cloud is thinnest in (the patch's normal),
/// turned so the points near the axis (the crown) stand higher than those far from it (the
/// gingiva around).
pub fn frame_guess(points: &[[f32; 3]]) -> Option<ToothFrame> {
    let n = points.len() as f32;
    if points.len() < 10 {
        return None;
    }
    let c: [f32; 3] = std::array::from_fn(|k| points.iter().map(|p| p[k]).sum::<f32>() / n);
    let mut cov = nalgebra::Matrix3::<f32>::zeros();
    for p in points {
        let d = nalgebra::Vector3::new(p[0] - c[0], p[1] - c[1], p[2] - c[2]);
        cov += d * d.transpose();
    }
    let eigen = nalgebra::SymmetricEigen::new(cov);
    let axis = eigen.eigenvectors.column(eigen.eigenvalues.imin());
    let frame = ToothFrame::new(c, [axis[0], axis[1], axis[2]]);
    // The prepared crown's top (within 2 mm of the axis) stands above the ring 3–5 mm out
    // where its walls run down to the line; neighbouring teeth further out may stand higher.
    let mean_z = |from: f32, to: f32| {
        let z: Vec<f32> = points
            .iter()
            .map(|p| frame.local(*p))
            .filter(|l| (from..to).contains(&l[0].hypot(l[1])))
            .map(|l| l[2])
            .collect();
        z.iter().sum::<f32>() / z.len().max(1) as f32
    };
    Some(if mean_z(0.0, 2.0) >= mean_z(3.0, 5.0) {
        frame
    } else {
        ToothFrame::new(c, [-axis[0], -axis[1], -axis[2]])
    })
}

/// The finish line of the preparation a point cloud shows (no triangles): the cloud's own
/// frame, re-centred on the line as the mesh tracer does, with `settings`; the stations'
/// points, or `None` when no line could be traced.
pub fn trace_cloud(
    points: &[[f32; 3]],
    settings: &crate::trace::Settings,
) -> Option<Vec<[f32; 3]>> {
    let frame = frame_guess(points)?;
    let spacing = spacing(points)?;
    let hood = PointHood::new(&frame, points, 12.0, (-8.0, 10.0), spacing);
    let traced = crate::trace::trace_centred(frame, hood, settings, None, &[])?;
    Some(traced.stations.iter().map(|s| s.point).collect())
}

//! Smoothing on the vertex graph, shared by the tooth map's crease measure and analyzers that
//! compare a scan with a smoothed copy of itself. The graph is given as a function from a
//! vertex to its neighbours, so a plugin's borrowed adjacency serves as well as the host's.
//!
//! ```
//! use imprint_core::derived::{laplacian_smooth, mean_edge_length};
//! // A bent strip of 4 vertices: 0–1–2–3 with 1 raised.
//! let p = [[0.0, 0.0, 0.0], [1.0, 0.0, 1.0], [2.0, 0.0, 0.0], [3.0, 0.0, 0.0]];
//! let rows: [&[u32]; 4] = [&[1], &[0, 2], &[1, 3], &[2]];
//! let ends = [true, false, false, true];
//! let s = laplacian_smooth(|v| rows[v], &p, &ends, 1, 0.5);
//! assert!((s[1][2] - 0.5).abs() < 1e-6 && s[0] == p[0]);
//! assert!(mean_edge_length(|v| rows[v], &p) > 1.0);
//! ```

use rayon::prelude::*;

fn dist(a: [f32; 3], b: [f32; 3]) -> f32 {
    (0..3).map(|c| (a[c] - b[c]).powi(2)).sum::<f32>().sqrt()
}

/// Mean length of the graph's edges (each counted from both ends), mm.
pub fn mean_edge_length<'a>(
    neighbours: impl Fn(usize) -> &'a [u32] + Sync,
    positions: &[[f32; 3]],
) -> f32 {
    let (sum, count) = crate::util::ordered_sum(
        positions.len(),
        (0.0f64, 0usize),
        |a, b| (a.0 + b.0, a.1 + b.1),
        |v| {
            let ring = neighbours(v);
            let s: f32 = ring
                .iter()
                .map(|w| dist(positions[*w as usize], positions[v]))
                .sum();
            (s as f64, ring.len())
        },
    );
    (sum / count.max(1) as f64) as f32
}

/// `rounds` of Laplacian smoothing: each vertex moves `weight` (0–1) of the way to the mean
/// of its neighbours; vertices flagged in `held` (the boundary: averaged, it would pull
/// inwards and curl the rim) and isolated ones stay. Features narrower than about
/// `edge × √(2 · weight · rounds)` are flattened.
pub fn laplacian_smooth<'a>(
    neighbours: impl Fn(usize) -> &'a [u32] + Sync,
    positions: &[[f32; 3]],
    held: &[bool],
    rounds: usize,
    weight: f32,
) -> Vec<[f32; 3]> {
    let mut cur = positions.to_vec();
    let mut next = positions.to_vec();
    for _ in 0..rounds {
        next.par_iter_mut().enumerate().for_each(|(v, out)| {
            let ring = neighbours(v);
            if ring.is_empty() || held.get(v).copied().unwrap_or(false) {
                *out = cur[v];
                return;
            }
            let mut m = [0.0f32; 3];
            for w in ring {
                let q = cur[*w as usize];
                (0..3).for_each(|c| m[c] += q[c]);
            }
            let k = ring.len() as f32;
            *out = std::array::from_fn(|c| (1.0 - weight) * cur[v][c] + weight * m[c] / k);
        });
        std::mem::swap(&mut cur, &mut next);
    }
    cur
}

/// `rounds` of averaging per-vertex `values` with their one-ring (each vertex and its
/// neighbours, equally): a scalar field smoothed the way [`laplacian_smooth`] smooths
/// positions, features narrower than about `edge × √(2 · rounds)` flattened.
pub fn ring_average<'a>(
    neighbours: impl Fn(usize) -> &'a [u32] + Sync,
    values: &[f32],
    rounds: usize,
) -> Vec<f32> {
    let mut cur = values.to_vec();
    for _ in 0..rounds {
        cur = (0..cur.len())
            .into_par_iter()
            .map(|v| {
                let ring = neighbours(v);
                let sum: f32 = ring.iter().map(|&w| cur[w as usize]).sum();
                (cur[v] + sum) / (1 + ring.len()) as f32
            })
            .collect();
    }
    cur
}

//! Small geometry shared by the detectors: vector helpers, a smoothed reference surface, and
//! the mean edge length.

use imprint_core::plugin::sdk::ScanRef;
use rayon::prelude::*;

pub fn sub(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

pub fn dot(a: [f32; 3], b: [f32; 3]) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

pub fn dist(a: [f32; 3], b: [f32; 3]) -> f32 {
    dot(sub(a, b), sub(a, b)).sqrt()
}

/// Mean edge length over the adjacency, mm.
pub fn mean_edge(scan: &ScanRef<'_, '_>) -> f32 {
    let p = scan.positions();
    let (sum, count) = (0..p.len())
        .into_par_iter()
        .map(|v| {
            let ring = scan.neighbours(v);
            let s: f32 = ring.iter().map(|w| dist(p[v], p[*w as usize])).sum();
            (s as f64, ring.len())
        })
        .reduce(|| (0.0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    (sum / count.max(1) as f64) as f32
}

/// The scan smoothed by `rounds` of one-ring averaging (each vertex moved to its ring's
/// mean; boundary vertices held): a reference from which features narrower than about
/// `edge × √(2·rounds)` have been removed.
pub fn smoothed(scan: &ScanRef<'_, '_>, rounds: usize) -> Vec<[f32; 3]> {
    let boundary = scan.on_boundary();
    let mut cur = scan.positions().to_vec();
    let mut next = cur.clone();
    for _ in 0..rounds {
        next.par_iter_mut().enumerate().for_each(|(v, out)| {
            let ring = scan.neighbours(v);
            if ring.is_empty() || boundary.get(v).copied().unwrap_or(false) {
                *out = cur[v];
                return;
            }
            let mut m = [0.0f32; 3];
            for w in ring {
                let q = cur[*w as usize];
                (0..3).for_each(|c| m[c] += q[c]);
            }
            let k = ring.len() as f32;
            *out = std::array::from_fn(|c| m[c] / k);
        });
        std::mem::swap(&mut cur, &mut next);
    }
    cur
}

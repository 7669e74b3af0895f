//! Marker-controlled watershed on the vertex graph: labels grow from their markers in order
//! of an elevation, so that two labels meet on the elevation's ridges (here: creases).

use crate::derived::Csr;

/// No label yet.
pub(crate) const NONE: u16 = u16::MAX;

/// Grows the labels in `labels` (markers: anything but [`NONE`]) over the vertices for which
/// `allowed` holds, lowest elevation first (a bucket queue: linear time). `elevation(label,
/// vertex)` may differ by label, to move where two labels meet.
pub(crate) fn flood(
    adjacency: &Csr,
    elevation: impl Fn(u16, usize) -> u8,
    labels: &mut [u16],
    allowed: impl Fn(usize) -> bool,
) {
    use rayon::prelude::*;
    // Only labelled vertices on the edge of an unlabelled region can spread.
    let front: Vec<u32> = (0..labels.len())
        .into_par_iter()
        .filter(|&v| {
            labels[v] != NONE && adjacency.row(v).iter().any(|w| labels[*w as usize] == NONE)
        })
        .map(|v| v as u32)
        .collect();
    flood_from(adjacency, elevation, labels, allowed, front);
}

/// [`flood`] from a given front: the labelled vertices that border unlabelled ones.
fn flood_from(
    adjacency: &Csr,
    elevation: impl Fn(u16, usize) -> u8,
    labels: &mut [u16],
    allowed: impl Fn(usize) -> bool,
    front: Vec<u32>,
) {
    let mut buckets: Vec<Vec<u32>> = vec![Vec::new(); 256];
    for v in front {
        let v = v as usize;
        buckets[elevation(labels[v], v) as usize].push(v as u32);
    }
    let mut level = 0usize;
    while level < 256 {
        let Some(v) = buckets[level].pop() else {
            level += 1;
            continue;
        };
        let v = v as usize;
        for &w in adjacency.row(v) {
            let w = w as usize;
            if labels[w] == NONE && allowed(w) {
                labels[w] = labels[v];
                let b = (elevation(labels[v], w) as usize).max(level);
                buckets[b].push(w as u32);
            }
        }
    }
}

/// Crease strength per vertex, quantised for [`flood`].
pub struct Crease {
    /// How far a vertex lies below the mean of its neighbours along its normal (the umbrella
    /// operator, a mean-curvature estimate, in 1/64 mm⁻¹, saturating at 4 mm⁻¹), measured on
    /// a copy smoothed against scanner noise.
    pub raw: Vec<u8>,
    /// `raw` dilated by one ring: a ridge one vertex wide does not separate a triangle mesh
    /// (an edge can step across it); three wide does.
    pub dilated: Vec<u8>,
}

impl Crease {
    /// Measures creases. The copy is smoothed by Laplacian rounds scaled to the mean edge
    /// length (four at 0.2 mm and finer, one on coarse meshes), so that scanner noise (5–15 µm at
    /// 0.1–0.25 mm spacing would swamp a one-ring estimate) falls below the crease between a
    /// crown and the gingiva. Boundary vertices and their neighbours get 0: a one-sided ring
    /// says nothing about creases.
    pub fn measure(
        adjacency: &Csr,
        positions: &[[f32; 3]],
        normals: &[[f32; 3]],
        on_boundary: &[bool],
    ) -> Self {
        use rayon::prelude::*;
        let n = positions.len();
        let smooth = smoothed(adjacency, positions, on_boundary);
        let raw: Vec<u8> = (0..n)
            .into_par_iter()
            .map(|v| {
                let row = adjacency.row(v);
                let near_rim = on_boundary[v] || row.iter().any(|w| on_boundary[*w as usize]);
                if row.is_empty() || near_rim {
                    return 0;
                }
                let m = ring_mean(adjacency, &smooth, v);
                let p = smooth[v];
                let len2 = row
                    .iter()
                    .map(|w| dist2(smooth[*w as usize], p))
                    .sum::<f32>()
                    / row.len() as f32;
                let lift: f32 = (0..3).map(|c| (m[c] - p[c]) * normals[v][c]).sum();
                // Umbrella: mean − p ≈ (ℓ²/4)·Δp, and Δp = 2H·n (H < 0 in a valley).
                let concavity = 2.0 * lift / len2.max(1e-12);
                (concavity.max(0.0) * 64.0).min(255.0) as u8
            })
            .collect();
        let dilated = (0..n)
            .into_par_iter()
            .map(|v| {
                adjacency
                    .row(v)
                    .iter()
                    .fold(raw[v], |m, w| m.max(raw[*w as usize]))
            })
            .collect();
        Self { raw, dilated }
    }
}

fn dist2(a: [f32; 3], b: [f32; 3]) -> f32 {
    (0..3).map(|c| (a[c] - b[c]).powi(2)).sum()
}

fn ring_mean(adjacency: &Csr, p: &[[f32; 3]], v: usize) -> [f32; 3] {
    let row = adjacency.row(v);
    let mut m = [0.0f32; 3];
    for w in row {
        for c in 0..3 {
            m[c] += p[*w as usize][c];
        }
    }
    let k = row.len().max(1) as f32;
    m.map(|x| x / k)
}

fn smoothed(adjacency: &Csr, positions: &[[f32; 3]], on_boundary: &[bool]) -> Vec<[f32; 3]> {
    use crate::derived::{laplacian_smooth, mean_edge_length};
    let edge = mean_edge_length(|v| adjacency.row(v), positions);
    let rounds = (1.0 + 3.0 * (0.2 / edge.max(1e-3)).powi(2))
        .round()
        .clamp(1.0, 4.0) as usize;
    laplacian_smooth(|v| adjacency.row(v), positions, on_boundary, rounds, 0.5)
}

/// Moves label boundaries onto the crest of `elevation`: vertices within `rings` of a
/// boundary are unlabelled and flooded again from the labels around them. The band is thin,
/// so no label can run far; it only settles where, inside a dilated ridge, the line falls.
/// Only the first ring is found by a pass over every vertex; the rest of the work walks the
/// band.
pub(crate) fn refine(
    adjacency: &Csr,
    elevation: &[u8],
    labels: &mut [u16],
    rings: usize,
    allowed: impl Fn(usize) -> bool,
) {
    use rayon::prelude::*;
    let n = labels.len();
    let labelled = |l: &[u16], v: usize| l[v] != NONE;
    let mut band: Vec<u32> = (0..n)
        .into_par_iter()
        .filter(|&v| {
            labelled(labels, v)
                && adjacency
                    .row(v)
                    .iter()
                    .any(|w| labels[*w as usize] != labels[v] && labels[*w as usize] != NONE)
        })
        .map(|v| v as u32)
        .collect();
    let mut in_band = vec![false; n];
    for &v in &band {
        in_band[v as usize] = true;
    }
    let mut ring_start = 0;
    for _ in 1..rings {
        let ring_end = band.len();
        for i in ring_start..ring_end {
            for &w in adjacency.row(band[i] as usize) {
                if !in_band[w as usize] && labelled(labels, w as usize) {
                    in_band[w as usize] = true;
                    band.push(w);
                }
            }
        }
        ring_start = ring_end;
    }
    let original: Vec<u16> = band.iter().map(|&v| labels[v as usize]).collect();
    for &v in &band {
        labels[v as usize] = NONE;
    }
    // The front: labelled vertices beside the band.
    let mut front = Vec::new();
    let mut seen = vec![false; n];
    for &v in &band {
        for &w in adjacency.row(v as usize) {
            if labels[w as usize] != NONE && !seen[w as usize] {
                seen[w as usize] = true;
                front.push(w);
            }
        }
    }
    // In vertex order, as a full pass would find them: ties in the queue break the same way.
    front.sort_unstable();
    flood_from(
        adjacency,
        |_, v| elevation[v],
        labels,
        |w| in_band[w] && allowed(w),
        front,
    );
    for (&v, &l) in band.iter().zip(&original) {
        if labels[v as usize] == NONE {
            labels[v as usize] = l;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{derived::DerivedData, shapes};

    /// A 20 × 20 grid (1 mm cells): column `i` of each vertex.
    fn grid() -> (crate::scan::Scan, Vec<usize>) {
        let scan = shapes::to_scan(shapes::grid_plane(20, 20.0));
        let columns = scan
            .positions
            .iter()
            .map(|p| p[0].round() as usize)
            .collect();
        (scan, columns)
    }

    /// An elevation that is low everywhere but along the column `ridge`.
    fn ridge_at(column: &[usize], ridge: usize) -> Vec<u8> {
        column
            .iter()
            .map(|&c| if c == ridge { 200 } else { 10 })
            .collect()
    }

    /// Label 0 up to column `below`, label 1 from column `above`; in between, anything.
    fn assert_split(labels: &[u16], column: &[usize], below: usize, above: usize) {
        for (v, &c) in column.iter().enumerate() {
            if c <= below {
                assert_eq!(labels[v], 0, "column {c}");
            } else if c >= above {
                assert_eq!(labels[v], 1, "column {c}");
            }
        }
    }

    #[test]
    fn flood_meets_on_the_ridge() {
        let (scan, column) = grid();
        let derived = DerivedData::new(&scan);
        let elevation = ridge_at(&column, 13);
        let mut labels: Vec<u16> = column
            .iter()
            .map(|&c| match c {
                0 => 0,
                20 => 1,
                _ => NONE,
            })
            .collect();
        flood(
            derived.adjacency(),
            |_, v| elevation[v],
            &mut labels,
            |_| true,
        );
        assert_split(&labels, &column, 12, 14);
    }

    #[test]
    fn refine_moves_a_boundary_within_its_band_onto_the_ridge_and_nothing_else() {
        let (scan, column) = grid();
        let derived = DerivedData::new(&scan);
        // The labels meet between columns 9 and 10, and the band reaches two rings either
        // side: a ridge at column 11 takes the boundary, one at column 16 cannot.
        let refined = |ridge: usize| {
            let mut labels: Vec<u16> = column.iter().map(|&c| u16::from(c >= 10)).collect();
            refine(
                derived.adjacency(),
                &ridge_at(&column, ridge),
                &mut labels,
                2,
                |_| true,
            );
            labels
        };
        assert_split(&refined(11), &column, 10, 12);
        assert_split(&refined(16), &column, 7, 12);
    }
}

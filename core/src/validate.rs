//! Mesh checks that leave a scan usable: degenerate faces, duplicate faces and vertices no
//! triangle uses. Each becomes a [`ScanWarning`] with a count and the first example, so the
//! report can say what was found without stopping the analysis.

use crate::scan::{Scan, ScanWarning};
use rayon::prelude::*;

/// Warnings for the usable defects of a mesh (codes start with `mesh_`).
pub fn mesh_warnings(scan: &Scan) -> Vec<ScanWarning> {
    let mut out = Vec::new();
    // The unreferenced pass is sequential; run it beside the two parallel checks.
    let (unused, ((degenerate, first_degenerate), (duplicates, first_duplicate))) = rayon::join(
        || unreferenced_vertices(scan),
        || {
            (
                degenerate_faces(scan),
                duplicate_faces(&scan.triangles, scan.positions.len()),
            )
        },
    );
    if degenerate > 0 {
        out.push(ScanWarning::new(
            "mesh_degenerate_faces",
            format!(
                "{degenerate} degenerate triangle(s) (repeated vertex or zero area), first is triangle {first_degenerate}"
            ),
        ));
    }
    if duplicates > 0 {
        out.push(ScanWarning::new(
            "mesh_duplicate_faces",
            format!(
                "{duplicates} duplicate triangle(s) (same three vertices), first is triangle {first_duplicate}"
            ),
        ));
    }
    if unused > 0 {
        out.push(ScanWarning::new(
            "mesh_unreferenced_vertices",
            format!("{unused} vertex/vertices used by no triangle"),
        ));
    }
    out
}

fn degenerate_faces(scan: &Scan) -> (usize, usize) {
    let flags: Vec<bool> = scan
        .triangles
        .par_iter()
        .with_min_len(1 << 14)
        .map(|t| is_degenerate(scan, t))
        .collect();
    let first = flags.iter().position(|d| *d).unwrap_or(0);
    (flags.iter().filter(|d| **d).count(), first)
}

fn is_degenerate(scan: &Scan, t: &[u32; 3]) -> bool {
    if t[0] == t[1] || t[1] == t[2] || t[0] == t[2] {
        return true;
    }
    let [a, b, c] = t.map(|i| scan.positions[i as usize]);
    let u = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
    let v = [c[0] - a[0], c[1] - a[1], c[2] - a[2]];
    let n = [
        u[1] * v[2] - u[2] * v[1],
        u[2] * v[0] - u[0] * v[2],
        u[0] * v[1] - u[1] * v[0],
    ];
    n[0] == 0.0 && n[1] == 0.0 && n[2] == 0.0
}

/// Duplicates share their lowest corner: the faces are bucketed by it (a counting sort, linear
/// time; a global sort of 1M keys took longer than the rest of the checks together), then
/// each bucket's faces are compared by their sorted corners. A face is a duplicate when an
/// earlier face has the same three vertices; the first duplicate is the lowest such index.
fn duplicate_faces(triangles: &[[u32; 3]], vertices: usize) -> (usize, usize) {
    let lowest = |t: &[u32; 3]| t.iter().copied().min().unwrap_or(0) as usize;
    let mut start = vec![0u32; vertices + 1];
    for t in triangles {
        start[lowest(t) + 1] += 1;
    }
    for v in 0..vertices {
        start[v + 1] += start[v];
    }
    let mut fill = start.clone();
    let mut faces = vec![0u32; triangles.len()];
    for (f, t) in triangles.iter().enumerate() {
        let slot = &mut fill[lowest(t)];
        faces[*slot as usize] = f as u32;
        *slot += 1;
    }
    let (count, first) = (0..vertices)
        .into_par_iter()
        .with_min_len(1 << 12)
        .fold(
            || (0usize, u32::MAX, Vec::new()),
            |(mut n, mut first, mut keys), v| {
                let bucket = &faces[start[v] as usize..start[v + 1] as usize];
                if bucket.len() > 1 {
                    keys.clear();
                    keys.extend(bucket.iter().map(|&f| {
                        let mut k = triangles[f as usize];
                        k.sort_unstable();
                        (k, f)
                    }));
                    keys.sort_unstable();
                    for w in keys.windows(2).filter(|w| w[0].0 == w[1].0) {
                        n += 1;
                        first = first.min(w[1].1);
                    }
                }
                (n, first, keys)
            },
        )
        .map(|(n, first, _)| (n, first))
        .reduce(|| (0, u32::MAX), |a, b| (a.0 + b.0, a.1.min(b.1)));
    (count, if count == 0 { 0 } else { first as usize })
}

fn unreferenced_vertices(scan: &Scan) -> usize {
    let mut used = vec![false; scan.positions.len()];
    for t in &scan.triangles {
        for &i in t {
            used[i as usize] = true;
        }
    }
    used.iter().filter(|u| !**u).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_degenerates_and_unused_vertices_are_counted_with_the_first() {
        let positions = vec![
            [0.0, 0.0, 0.0],
            [1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            [1.0, 1.0, 0.5],
            [0.3, 0.7, 1.0],
            [9.0, 9.0, 9.0],
        ];
        let triangles = vec![
            [0, 1, 2],
            [2, 3, 1],
            [1, 2, 0], // the first face again, turned: duplicate 2
            [0, 1, 4],
            [3, 3, 4], // a repeated vertex: degenerate 4
            [2, 0, 1], // the first face once more: duplicate 5
        ];
        let scan = Scan::new(positions, triangles).unwrap_or_else(|e| panic!("{e}"));
        let warnings = mesh_warnings(&scan);
        let said = |code: &str| {
            warnings
                .iter()
                .find(|w| w.code == code)
                .map(|w| w.message.clone())
                .unwrap_or_else(|| panic!("no {code} in {warnings:?}"))
        };
        assert!(said("mesh_duplicate_faces").starts_with("2 duplicate triangle(s)"));
        assert!(said("mesh_duplicate_faces").ends_with("first is triangle 2"));
        assert!(said("mesh_degenerate_faces").starts_with("1 degenerate"));
        assert!(said("mesh_degenerate_faces").ends_with("first is triangle 4"));
        assert!(said("mesh_unreferenced_vertices").starts_with("1 vertex"));
    }
}

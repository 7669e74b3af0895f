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
        || (degenerate_faces(scan), duplicate_faces(&scan.triangles)),
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

fn duplicate_faces(triangles: &[[u32; 3]]) -> (usize, usize) {
    // Sort (sorted corners, index) in parallel; duplicates sit next to each other.
    let mut keys: Vec<([u32; 3], u32)> = triangles
        .par_iter()
        .enumerate()
        .map(|(i, t)| {
            let mut k = *t;
            k.sort_unstable();
            (k, i as u32)
        })
        .collect();
    keys.par_sort_unstable();
    let dups = keys.windows(2).filter(|w| w[0].0 == w[1].0).map(|w| w[1].1);
    let (count, first) = dups.fold((0, u32::MAX), |(n, f), i| (n + 1, f.min(i)));
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

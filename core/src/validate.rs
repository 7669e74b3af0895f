//! Mesh checks that leave a scan usable: degenerate faces, duplicate faces and vertices no
//! triangle uses. Each becomes a [`ScanWarning`] with a count and the first example, so the
//! report can say what was found without stopping the analysis.

use crate::scan::{Scan, ScanWarning};
use std::collections::HashSet;

/// Warnings for the usable defects of a mesh (codes start with `mesh_`).
pub fn mesh_warnings(scan: &Scan) -> Vec<ScanWarning> {
    let mut out = Vec::new();
    let (degenerate, first_degenerate) = degenerate_faces(scan);
    if degenerate > 0 {
        out.push(ScanWarning::new(
            "mesh_degenerate_faces",
            format!(
                "{degenerate} degenerate triangle(s) (repeated vertex or zero area), first is triangle {first_degenerate}"
            ),
        ));
    }
    let (duplicates, first_duplicate) = duplicate_faces(&scan.triangles);
    if duplicates > 0 {
        out.push(ScanWarning::new(
            "mesh_duplicate_faces",
            format!(
                "{duplicates} duplicate triangle(s) (same three vertices), first is triangle {first_duplicate}"
            ),
        ));
    }
    let unused = unreferenced_vertices(scan);
    if unused > 0 {
        out.push(ScanWarning::new(
            "mesh_unreferenced_vertices",
            format!("{unused} vertex/vertices used by no triangle"),
        ));
    }
    out
}

fn degenerate_faces(scan: &Scan) -> (usize, usize) {
    let mut count = 0;
    let mut first = 0;
    for (i, t) in scan.triangles.iter().enumerate() {
        if is_degenerate(scan, t) {
            if count == 0 {
                first = i;
            }
            count += 1;
        }
    }
    (count, first)
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
    let mut seen = HashSet::with_capacity(triangles.len());
    let mut count = 0;
    let mut first = 0;
    for (i, t) in triangles.iter().enumerate() {
        let mut key = *t;
        key.sort_unstable();
        if !seen.insert(key) {
            if count == 0 {
                first = i;
            }
            count += 1;
        }
    }
    (count, first)
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

//! Face normals, face areas and area-weighted vertex normals.

use nalgebra::Vector3;
use rayon::prelude::*;

pub(crate) fn v3(p: &[f32; 3]) -> Vector3<f32> {
    Vector3::new(p[0], p[1], p[2])
}

/// The cross product of a triangle's edges (twice its area, along its normal).
pub(crate) fn face_cross(positions: &[[f32; 3]], t: &[u32; 3]) -> Vector3<f32> {
    let a = v3(&positions[t[0] as usize]);
    let b = v3(&positions[t[1] as usize]);
    let c = v3(&positions[t[2] as usize]);
    (b - a).cross(&(c - a))
}

/// Unit face normals (zero for degenerate faces) and face areas.
pub fn face_normals_and_areas(
    positions: &[[f32; 3]],
    triangles: &[[u32; 3]],
) -> (Vec<[f32; 3]>, Vec<f32>) {
    triangles
        .par_iter()
        .with_min_len(4096)
        .map(|t| {
            let n = face_cross(positions, t);
            let len = n.norm();
            let unit = if len > 0.0 { n / len } else { Vector3::zeros() };
            ([unit.x, unit.y, unit.z], 0.5 * len)
        })
        .unzip()
}

/// Area-weighted unit vertex normals; a vertex on no (or only degenerate) faces gets zero.
pub fn vertex_normals(positions: &[[f32; 3]], triangles: &[[u32; 3]]) -> Vec<[f32; 3]> {
    let mut acc = vec![[0.0f32; 3]; positions.len()];
    for t in triangles {
        let n = face_cross(positions, t);
        for &i in t {
            let a = &mut acc[i as usize];
            a[0] += n.x;
            a[1] += n.y;
            a[2] += n.z;
        }
    }
    acc.par_iter_mut().with_min_len(4096).for_each(|a| {
        let len = (a[0] * a[0] + a[1] * a[1] + a[2] * a[2]).sqrt();
        if len > 0.0 {
            *a = a.map(|c| c / len);
        }
    });
    acc
}

/// A third of each face's area to each of its vertices (the area a vertex stands for), mm².
///
/// ```
/// use imprint_core::derived::vertex_areas;
/// let a = vertex_areas(4, &[[0, 1, 2], [0, 2, 3]], &[0.6, 0.3]);
/// assert!((a[0] - 0.3).abs() < 1e-6 && (a[1] - 0.2).abs() < 1e-6 && (a[3] - 0.1).abs() < 1e-6);
/// ```
pub fn vertex_areas(count: usize, triangles: &[[u32; 3]], face_areas: &[f32]) -> Vec<f32> {
    let mut out = vec![0.0f32; count];
    for (t, a) in triangles.iter().zip(face_areas) {
        for &v in t {
            if let Some(x) = out.get_mut(v as usize) {
                *x += a / 3.0;
            }
        }
    }
    out
}

//! Per-vertex curvature on the discrete surface (Meyer, Desbrun, Schröder & Barr 2003): mean
//! curvature from the cotangent Laplacian, Gaussian curvature from the angle deficit, both over
//! the mixed Voronoi area; principal curvatures from the two.
//!
//! Sign: mean curvature is positive where the surface bulges towards its normal (a sphere with
//! outward normals has `H = 1/r`). Boundary and non-manifold vertices have an open one-ring,
//! where neither estimate holds: they get zero and are marked in `on_boundary`.

use super::normals::v3;
use nalgebra::Vector3;
use rayon::prelude::*;
use std::f32::consts::PI;

/// Curvatures per vertex, in 1/mm.
#[derive(Debug, Clone, PartialEq)]
pub struct Curvature {
    /// Mean curvature `H`.
    pub mean: Vec<f32>,
    /// Gaussian curvature `K`.
    pub gaussian: Vec<f32>,
    /// Larger principal curvature `k1 = H + sqrt(H² − K)`.
    pub k1: Vec<f32>,
    /// Smaller principal curvature `k2 = H − sqrt(H² − K)`.
    pub k2: Vec<f32>,
    /// Vertex has an open one-ring; its curvatures are set to zero.
    pub on_boundary: Vec<bool>,
}

/// Per-vertex sums gathered from faces.
#[derive(Clone)]
struct Sums {
    laplacian: Vec<Vector3<f32>>,
    angle: Vec<f32>,
    area: Vec<f32>,
}

impl Sums {
    fn zeros(n: usize) -> Self {
        Self {
            laplacian: vec![Vector3::zeros(); n],
            angle: vec![0.0; n],
            area: vec![0.0; n],
        }
    }

    fn add(mut self, other: Self) -> Self {
        for (a, b) in self.laplacian.iter_mut().zip(other.laplacian) {
            *a += b;
        }
        for (a, b) in self.angle.iter_mut().zip(other.angle) {
            *a += b;
        }
        for (a, b) in self.area.iter_mut().zip(other.area) {
            *a += b;
        }
        self
    }

    /// Adds one triangle's contributions to its three vertices.
    fn face(&mut self, positions: &[[f32; 3]], t: &[u32; 3]) {
        let p = t.map(|i| v3(&positions[i as usize]));
        let area = 0.5 * (p[1] - p[0]).cross(&(p[2] - p[0])).norm();
        if area <= f32::EPSILON {
            return;
        }
        let mut cot = [0.0f32; 3];
        let mut angle = [0.0f32; 3];
        for k in 0..3 {
            let (u, w) = (p[(k + 1) % 3] - p[k], p[(k + 2) % 3] - p[k]);
            let cross = u.cross(&w).norm();
            let dot = u.dot(&w);
            cot[k] = dot / cross.max(f32::MIN_POSITIVE);
            angle[k] = cross.atan2(dot);
        }
        for k in 0..3 {
            let (i, j, o) = (k, (k + 1) % 3, (k + 2) % 3);
            // Edge (i, j) is opposite corner o.
            let e = (p[i] - p[j]) * cot[o];
            self.laplacian[t[i] as usize] += e;
            self.laplacian[t[j] as usize] -= e;
            self.angle[t[k] as usize] += angle[k];
            self.area[t[k] as usize] += mixed_area(&p, &cot, &angle, area, k);
        }
    }
}

/// The mixed Voronoi area of corner `k` of a triangle.
fn mixed_area(p: &[Vector3<f32>; 3], cot: &[f32; 3], angle: &[f32; 3], area: f32, k: usize) -> f32 {
    let obtuse = angle.iter().position(|a| *a > PI / 2.0);
    match obtuse {
        None => {
            let (j, o) = ((k + 1) % 3, (k + 2) % 3);
            0.125 * ((p[o] - p[k]).norm_squared() * cot[j] + (p[j] - p[k]).norm_squared() * cot[o])
        }
        Some(ob) if ob == k => area / 2.0,
        Some(_) => area / 4.0,
    }
}

impl Curvature {
    /// Computes curvature for every vertex.
    pub fn build(
        positions: &[[f32; 3]],
        triangles: &[[u32; 3]],
        normals: &[[f32; 3]],
        on_boundary: &[bool],
    ) -> Self {
        let n = positions.len();
        // Two halves summed apart and added in order: the same float sums on any number of
        // threads (rayon's reduce tree, with a part per thread, depended on both), and two
        // vertex-sized accumulators at most.
        let sums_of = |faces: &[[u32; 3]]| {
            let mut s = Sums::zeros(n);
            faces.iter().for_each(|t| s.face(positions, t));
            s
        };
        let (head, tail) = triangles.split_at(triangles.len().div_ceil(2));
        let (head, tail) = rayon::join(|| sums_of(head), || sums_of(tail));
        let sums = head.add(tail);
        let per_vertex: Vec<(f32, f32)> = (0..n)
            .into_par_iter()
            .with_min_len(4096)
            .map(|v| vertex_curvature(&sums, normals, on_boundary, v))
            .collect();
        let (mean, gaussian): (Vec<f32>, Vec<f32>) = per_vertex.into_iter().unzip();
        let spread = |h: f32, k: f32| (h * h - k).max(0.0).sqrt();
        let k1 = mean
            .iter()
            .zip(&gaussian)
            .map(|(&h, &k)| h + spread(h, k))
            .collect();
        let k2 = mean
            .iter()
            .zip(&gaussian)
            .map(|(&h, &k)| h - spread(h, k))
            .collect();
        Self {
            mean,
            gaussian,
            k1,
            k2,
            on_boundary: on_boundary.to_vec(),
        }
    }
}

fn vertex_curvature(s: &Sums, normals: &[[f32; 3]], on_boundary: &[bool], v: usize) -> (f32, f32) {
    let area = s.area[v];
    if on_boundary[v] || area <= f32::EPSILON {
        return (0.0, 0.0);
    }
    let k = s.laplacian[v] / (2.0 * area);
    let h = 0.5 * k.dot(&v3(&normals[v]));
    let gauss = (2.0 * PI - s.angle[v]) / area;
    (h, gauss)
}

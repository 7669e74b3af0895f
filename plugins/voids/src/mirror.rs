//! The contralateral tooth as a crown's reference: a tooth and its mirror partner across the
//! midline (45 and 35, 16 and 26) carry the same cusps, fissures and fossae, mirrored. A
//! bubble is on one of them only. Each crown is mirrored across the arch's midsagittal plane
//! and registered rigidly onto its partner (point-to-plane ICP on the host's closest-point
//! queries); a point's departure from the partner's surface is then its departure from
//! what the crown's own anatomy should be there.

use crate::geometry::{dot, sub};
use imprint_core::plugin::sdk::ScanRef;
use nalgebra::{Matrix3, Matrix6, Rotation3, Vector3, Vector6};
use std::collections::HashMap;

/// A rigid map from a crown's space into its partner's: mirror, then rotate and translate.
#[derive(Debug, Clone, Copy)]
pub struct Partner {
    /// The partner's FDI number.
    pub fdi: u8,
    origin: Vector3<f64>,
    lateral: Vector3<f64>,
    rotation: Matrix3<f64>,
    translation: Vector3<f64>,
    /// RMS point-to-plane residual of the registration over the crown, mm.
    pub rms: f32,
}

impl Partner {
    /// The point `p` of the crown, carried onto its partner.
    pub fn carry(&self, p: [f32; 3]) -> [f32; 3] {
        let v = Vector3::new(p[0] as f64, p[1] as f64, p[2] as f64);
        let m = v - self.lateral * (2.0 * (v - self.origin).dot(&self.lateral));
        let w = self.rotation * m + self.translation;
        [w.x as f32, w.y as f32, w.z as f32]
    }

    /// The signed distance of the crown's point `p` from the partner's surface (negative
    /// inside: a pit), when the partner's surface lies within `reach`.
    pub fn departure(&self, scan: &ScanRef<'_, '_>, p: [f32; 3], reach: f32) -> Option<f32> {
        let m = self.carry(p);
        // Most points lie within a few hundredths of the partner: a tight search first.
        let hit = scan
            .closest_point(m, NEAR_MM.min(reach))
            .or_else(|| scan.closest_point(m, reach))?;
        let n = *scan.face_normals().get(hit.triangle as usize)?;
        // Off the surface's edge the closest point is on a boundary, not under the point.
        if dot(sub(m, hit.point), n).abs() < 0.7 * hit.distance {
            return None;
        }
        let corners = *scan.triangles().get(hit.triangle as usize)?;
        let (at, normal) = curved(scan, corners, hit.point)?;
        Some(dot(sub(m, at), normal))
    }
}

/// The point of the smooth surface through a triangle's corners and their normals (Phong
/// tessellation, shape factor 3/4) over the flat point `q`, and the normal there. The
/// crown's own vertices lie on the true surface; a partner's flat facets cut under its
/// convex parts (and over its concave ones) by up to a tenth of a millimetre where the
/// triangles are long, which the curved surface takes back.
fn curved(scan: &ScanRef<'_, '_>, corners: [u32; 3], q: [f32; 3]) -> Option<([f32; 3], [f32; 3])> {
    let p = scan.positions();
    let normals = scan.vertex_normals();
    let v: [[f32; 3]; 3] = [
        *p.get(corners[0] as usize)?,
        *p.get(corners[1] as usize)?,
        *p.get(corners[2] as usize)?,
    ];
    let n: [[f32; 3]; 3] = [
        *normals.get(corners[0] as usize)?,
        *normals.get(corners[1] as usize)?,
        *normals.get(corners[2] as usize)?,
    ];
    let w = barycentric(v, q)?;
    let mut at = [0.0f32; 3];
    let mut normal = [0.0f32; 3];
    for k in 0..3 {
        let lift = dot(sub(q, v[k]), n[k]);
        for c in 0..3 {
            let projected = q[c] - lift * n[k][c];
            at[c] += w[k] * (0.25 * q[c] + 0.75 * projected);
            normal[c] += w[k] * n[k][c];
        }
    }
    let len = dot(normal, normal).sqrt();
    (len > 1e-6).then(|| (at, normal.map(|x| x / len)))
}

/// Barycentric weights of `q` (in the triangle's plane) over the corners `v`.
fn barycentric(v: [[f32; 3]; 3], q: [f32; 3]) -> Option<[f32; 3]> {
    let (e0, e1, e2) = (sub(v[1], v[0]), sub(v[2], v[0]), sub(q, v[0]));
    let (d00, d01, d11) = (dot(e0, e0), dot(e0, e1), dot(e1, e1));
    let (d20, d21) = (dot(e2, e0), dot(e2, e1));
    let denom = d00 * d11 - d01 * d01;
    if denom.abs() < 1e-12 {
        return None;
    }
    let b = (d11 * d20 - d01 * d21) / denom;
    let c = (d00 * d21 - d01 * d20) / denom;
    Some([
        (1.0 - b - c).clamp(0.0, 1.0),
        b.clamp(0.0, 1.0),
        c.clamp(0.0, 1.0),
    ])
}

/// The first search radius for a point's closest partner point, mm.
const NEAR_MM: f32 = 0.1;

/// The FDI number of a tooth's mirror partner (same position, other side of the midline).
pub fn partner_of(fdi: u8) -> u8 {
    let q = match fdi / 10 {
        1 => 2,
        2 => 1,
        3 => 4,
        4 => 3,
        q => q,
    };
    q * 10 + fdi % 10
}

/// Registers every crown whose partner the map found, skipping `skip` (prepared teeth: a
/// stump has no partner's anatomy). Returns the registration per crown.
pub fn register(scan: &ScanRef<'_, '_>, skip: &[u8]) -> HashMap<u8, Partner> {
    let map = scan.tooth_map();
    let labels = scan.tooth_of_vertex();
    let (Some(origin), Some(lateral)) = (
        vec3(&map["frame"]["origin"]),
        vec3(&map["frame"]["lateral"]),
    ) else {
        return HashMap::new();
    };
    let mut members: HashMap<u8, Vec<u32>> = HashMap::new();
    for (v, &t) in labels.iter().enumerate() {
        if t != 0 {
            members.entry(t).or_default().push(v as u32);
        }
    }
    use rayon::prelude::*;
    members
        .par_iter()
        .filter_map(|(&fdi, verts)| {
            let other = partner_of(fdi);
            if other == fdi || skip.contains(&fdi) || skip.contains(&other) {
                return None;
            }
            let theirs = members.get(&other)?;
            Some((fdi, icp(scan, verts, theirs, other, origin, lateral)?))
        })
        .collect()
}

fn vec3(v: &serde_json::Value) -> Option<Vector3<f64>> {
    Some(Vector3::new(v[0].as_f64()?, v[1].as_f64()?, v[2].as_f64()?))
}

fn centroid(p: &[[f32; 3]], verts: &[u32]) -> Vector3<f64> {
    let mut c = Vector3::zeros();
    for v in verts {
        let q = p[*v as usize];
        c += Vector3::new(q[0] as f64, q[1] as f64, q[2] as f64);
    }
    c / verts.len().max(1) as f64
}

/// Registration rounds at most (it settles in 5–10 from the crowns' centres).
const ICP_ROUNDS: usize = 12;

/// Point-to-plane ICP of the mirrored crown `mine` onto the partner `theirs`.
fn icp(
    scan: &ScanRef<'_, '_>,
    mine: &[u32],
    theirs: &[u32],
    other: u8,
    origin: Vector3<f64>,
    lateral: Vector3<f64>,
) -> Option<Partner> {
    let p = scan.positions();
    let labels = scan.tooth_of_vertex();
    let triangles = scan.triangles();
    let normals = scan.face_normals();
    let mut partner = Partner {
        fdi: other,
        origin,
        lateral,
        rotation: Matrix3::identity(),
        translation: Vector3::zeros(),
        rms: f32::INFINITY,
    };
    let mirrored_centre = {
        let c = centroid(p, mine);
        c - lateral * (2.0 * (c - origin).dot(&lateral))
    };
    let pivot = centroid(p, theirs);
    partner.translation = pivot - mirrored_centre;
    let stride = mine.len().div_ceil(150).max(1);
    let sample: Vec<[f32; 3]> = mine
        .iter()
        .step_by(stride)
        .map(|v| p[*v as usize])
        .collect();
    let mut reach = 2.0f32;
    for _ in 0..ICP_ROUNDS {
        let mut ata = Matrix6::<f64>::zeros();
        let mut atb = Vector6::<f64>::zeros();
        let mut sum2 = 0.0f64;
        let mut n_used = 0usize;
        for &s in &sample {
            let m = partner.carry(s);
            let Some(hit) = scan.closest_point(m, reach) else {
                continue;
            };
            let t = triangles.get(hit.triangle as usize)?;
            if labels.get(t[0] as usize) != Some(&other) {
                continue;
            }
            let n = *normals.get(hit.triangle as usize)?;
            let n = Vector3::new(n[0] as f64, n[1] as f64, n[2] as f64);
            let mv = Vector3::new(m[0] as f64, m[1] as f64, m[2] as f64);
            let q = Vector3::new(
                hit.point[0] as f64,
                hit.point[1] as f64,
                hit.point[2] as f64,
            );
            let r = (mv - q).dot(&n);
            let arm = mv - pivot;
            let c = arm.cross(&n);
            let row = Vector6::new(c.x, c.y, c.z, n.x, n.y, n.z);
            ata += row * row.transpose();
            atb -= row * r;
            sum2 += r * r;
            n_used += 1;
        }
        if n_used < 50 {
            return None;
        }
        partner.rms = (sum2 / n_used as f64).sqrt() as f32;
        let x = ata.cholesky()?.solve(&atb);
        let turn = Rotation3::new(Vector3::new(x[0], x[1], x[2])).into_inner();
        // Turn about the partner's centre, then shift.
        partner.rotation = turn * partner.rotation;
        let settled = x.fixed_rows::<3>(0).norm() < 2e-4 && x.fixed_rows::<3>(3).norm() < 2e-3;
        partner.translation =
            turn * (partner.translation - pivot) + pivot + Vector3::new(x[3], x[4], x[5]);
        reach = (3.0 * partner.rms).clamp(0.15, 2.0);
        if settled {
            break;
        }
    }
    Some(partner)
}

/// Where each vertex is compared: crown vertices against their own tooth's partner, the
/// gingiva round a hot spot against the hot spot's crown's (the registration holds a few
/// millimetres out).
pub struct Comparison<'p> {
    partners: &'p HashMap<u8, Partner>,
    reach: f32,
}

impl<'p> Comparison<'p> {
    /// Compares within `reach` of the partner's surface.
    pub fn new(partners: &'p HashMap<u8, Partner>, reach: f32) -> Self {
        Comparison { partners, reach }
    }

    /// Vertex `v`'s departure from the surface of `tooth`'s partner, NaN where there is
    /// none (no partner, the scan's edge, a hole in the partner).
    pub fn at(&self, scan: &ScanRef<'_, '_>, v: usize, tooth: u8) -> f32 {
        let on_edge = scan.on_boundary().get(v).copied().unwrap_or(true);
        match self.partners.get(&tooth) {
            Some(pt) if !on_edge => scan
                .positions()
                .get(v)
                .and_then(|p| pt.departure(scan, *p, self.reach))
                .unwrap_or(f32::NAN),
            _ => f32::NAN,
        }
    }

    /// The departures at a sample of the crowns' vertices about `spacing` mm apart on
    /// average (every k-th vertex, k from the scan's mean edge): the field's statistics
    /// and its hot spots. Vertices and values, NaN left out.
    pub fn sample(&self, scan: &ScanRef<'_, '_>, spacing: f32) -> Vec<(u32, f32)> {
        use rayon::prelude::*;
        let labels = scan.tooth_of_vertex();
        let stride = ((spacing / scan.mean_edge().max(1e-3)).powi(2).floor() as usize).max(1);
        (0..labels.len())
            .into_par_iter()
            .step_by(stride)
            .filter(|&v| self.partners.contains_key(&labels[v]))
            .map(|v| (v as u32, self.at(scan, v, labels[v])))
            .filter(|(_, d)| d.is_finite())
            .collect()
    }

    /// The departures of every vertex within `radius` of the `hot` crown vertices (NaN
    /// elsewhere); gingiva there is compared as the hot spot's crown.
    pub fn near(&self, scan: &ScanRef<'_, '_>, hot: &[u32], radius: f32) -> Vec<f32> {
        use rayon::prelude::*;
        let p = scan.positions();
        let labels = scan.tooth_of_vertex();
        let mut owner = vec![0u8; p.len()];
        // Which hot spot's walk last reached each vertex: a disc walks on through the
        // vertices an earlier disc took (they keep their first owner).
        let mut reached = vec![u32::MAX; p.len()];
        let mut wanted: Vec<u32> = Vec::new();
        for (k, &h) in hot.iter().enumerate() {
            let (centre, tooth) = (p[h as usize], labels[h as usize]);
            let mut stack = vec![h];
            reached[h as usize] = k as u32;
            while let Some(u) = stack.pop() {
                let at = u as usize;
                if owner[at] == 0 {
                    owner[at] = if labels[at] != 0 { labels[at] } else { tooth };
                    wanted.push(u);
                }
                for &w in scan.neighbours(at) {
                    let next = w as usize;
                    if reached[next] != k as u32 && crate::geometry::dist(p[next], centre) <= radius
                    {
                        reached[next] = k as u32;
                        stack.push(w);
                    }
                }
            }
        }
        let found: Vec<f32> = wanted
            .par_iter()
            .map(|&v| self.at(scan, v as usize, owner[v as usize]))
            .collect();
        let mut out = vec![f32::NAN; p.len()];
        for (v, d) in wanted.iter().zip(found) {
            out[*v as usize] = d;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partners_sit_across_the_midline() {
        assert_eq!(partner_of(45), 35);
        assert_eq!(partner_of(16), 26);
        assert_eq!(partner_of(21), 11);
        assert_eq!(partner_of(38), 48);
    }

    #[test]
    fn barycentric_weights_rebuild_the_point() {
        let v = [[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 1.0, 0.0]];
        let w = barycentric(v, [0.5, 0.25, 0.0]).expect("a triangle");
        let back: [f32; 3] =
            std::array::from_fn(|c| w[0] * v[0][c] + w[1] * v[1][c] + w[2] * v[2][c]);
        assert!(
            (back[0] - 0.5).abs() < 1e-6 && (back[1] - 0.25).abs() < 1e-6,
            "{back:?}"
        );
        assert!(barycentric(
            [[0.0; 3], [1.0, 0.0, 0.0], [2.0, 0.0, 0.0]],
            [0.5, 0.0, 0.0]
        )
        .is_none());
    }
}

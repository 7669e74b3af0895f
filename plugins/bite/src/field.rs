//! The inter-arch distance field: for each tooth point of one arch, its signed distance to
//! the opposing arch in the registered relation (negative where it lies inside the opposing
//! teeth), and which opposing tooth is nearest; summed up per tooth pair.

use imprint_core::plugin::sdk::ScanRef;
use nalgebra::{Isometry3, Point3};
use rayon::prelude::*;
use std::collections::BTreeMap;

/// How closely the offset to the nearest point must follow the face normal to count as
/// inside (cosine).
const INSIDE_ALIGNMENT: f32 = 0.9;

/// One point of the field.
#[derive(Debug, Clone, Copy)]
pub struct Probe {
    /// The vertex, on the arch the field is measured on.
    pub vertex: u32,
    /// Signed distance to the opposing arch, mm: negative inside it.
    pub distance: f32,
    /// The opposing tooth nearest (FDI; 0 for gingiva).
    pub opposing: u8,
}

/// The signed distance from each of `vertices` of `from` to `to`, with `into_to` moving
/// `from`'s coordinates into `to`'s; vertices with nothing within `max` mm are left out.
pub fn probe(
    from: ScanRef<'_, '_>,
    vertices: &[u32],
    to: ScanRef<'_, '_>,
    into_to: &Isometry3<f64>,
    max: f32,
) -> Vec<Probe> {
    let positions = from.positions();
    let (normals, triangles, teeth) = (to.face_normals(), to.triangles(), to.tooth_of_vertex());
    vertices
        .par_iter()
        .filter_map(|&v| {
            let p = positions.get(v as usize)?;
            let p = into_to * Point3::new(f64::from(p[0]), f64::from(p[1]), f64::from(p[2]));
            let p = [p.x as f32, p.y as f32, p.z as f32];
            let q = to.closest_point(p, max)?;
            let n = normals.get(q.triangle as usize)?;
            let along: f32 = (0..3).map(|k| (p[k] - q.point[k]) * n[k]).sum();
            let corner = triangles.get(q.triangle as usize)?[0] as usize;
            // Inside only when the point lies behind the face and straight under it: when
            // the nearest point is on an edge or the scan's rim, the face's side says
            // nothing about inside and outside.
            let inside = along < 0.0 && -along >= INSIDE_ALIGNMENT * q.distance;
            Some(Probe {
                vertex: v,
                distance: if inside { -q.distance } else { q.distance },
                opposing: teeth.get(corner).copied().unwrap_or(0),
            })
        })
        .collect()
}

/// What the field says about one pair of opposing teeth.
#[derive(Debug, Clone, Default)]
pub struct PairStats {
    /// Area in contact (within the contact distance, or inside), mm².
    pub contact_area: f32,
    /// Area inside the opposing tooth deeper than the penetration limit, mm².
    pub deep_area: f32,
    /// Smallest signed distance, mm (negative: the deepest penetration).
    pub closest: f32,
    /// Vertices in contact.
    pub contact_vertices: Vec<u32>,
    /// Area-weighted centre of the contact (or of the closest approach), mm.
    pub center: [f64; 3],
    weight: f64,
}

/// Sums the field per (tooth, opposing tooth): `tooth` gives the measured arch's tooth per
/// vertex, `area` its vertex areas.
pub fn per_pair(
    probes: &[Probe],
    tooth: &[u8],
    area: &[f32],
    positions: &[[f32; 3]],
    limits: (f32, f32),
) -> BTreeMap<(u8, u8), PairStats> {
    let (contact, deep) = limits;
    let mut pairs: BTreeMap<(u8, u8), PairStats> = BTreeMap::new();
    for pr in probes {
        let v = pr.vertex as usize;
        let own = tooth.get(v).copied().unwrap_or(0);
        if own == 0 || pr.opposing == 0 {
            continue;
        }
        let a = area.get(v).copied().unwrap_or(0.0);
        let s = pairs
            .entry((own, pr.opposing))
            .or_insert_with(|| PairStats {
                closest: f32::INFINITY,
                ..Default::default()
            });
        if pr.distance < s.closest {
            s.closest = pr.distance;
            if s.weight == 0.0 {
                s.center = positions[v].map(f64::from);
            }
        }
        if pr.distance <= contact {
            s.contact_area += a;
            s.contact_vertices.push(pr.vertex);
            let w = f64::from(a.max(1e-6));
            for (c, x) in s.center.iter_mut().zip(positions[v]) {
                *c = (*c * s.weight + f64::from(x) * w) / (s.weight + w);
            }
            s.weight += w;
        }
        if pr.distance < -deep {
            s.deep_area += a;
        }
    }
    pairs
}

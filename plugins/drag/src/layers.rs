//! Double surfaces: two sheets of the scan lying over each other a fraction of a millimetre
//! apart and facing the same way (a re-seated tray, scan frames that failed to register, an
//! extra shell).
//!
//! A ray leaving the surface outwards along a vertex normal meets nothing close on a clean
//! scan, or meets the *front* of another surface (the neighbouring tooth across a contact,
//! a crown bulging over the gingiva). Where a second sheet lies over the first, the ray
//! meets that sheet's *back* within the gap. Rays are cast through the host's BVH from
//! vertices about half a millimetre apart, then from every vertex around those whose ray met
//! a sheet; the vertices whose rays meet a back face close by are grouped by distance, and
//! each group large enough is one double surface.

use imprint_core::plugin::sdk::ScanRef;
use imprint_core::util::FastMap;
use rayon::prelude::*;

/// Detection settings.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Sheets closer than this are a double surface, mm.
    pub max_gap: f32,
    /// Smallest double surface reported (across), mm.
    pub min_size: f32,
}

/// A measured double surface.
#[derive(Debug, Clone)]
pub struct Layer {
    /// Midway between the sheets, mm.
    pub centre: [f32; 3],
    /// Largest extent, mm.
    pub size: f32,
    /// Median distance between the sheets, mm.
    pub gap: f32,
    /// Area of the covered sheet, mm².
    pub area: f32,
    /// The other sheet is a separate connected piece of the mesh.
    pub separate_shell: bool,
    /// Vertices of the covered sheet.
    pub vertices: Vec<u32>,
}

/// Rays are first cast from vertices about this far apart, mm ...
const COARSE_MM: f32 = 0.5;
/// ... then from every vertex within this distance of a vertex whose ray met a sheet, mm.
const REFINE_MM: f32 = 1.5;
/// The gap between two sheets varies by at most this share of itself (interquartile
/// range) ...
const GAP_SPREAD: f32 = 0.25;
/// ... or this much, mm (the scanner's noise on two sheets).
const MIN_GAP_SPREAD_MM: f32 = 0.05;
/// Hits this close belong to one sheet, mm (a sheet over an embrasure or a steep wall is
/// hit in pieces).
const LINK_MM: f32 = 1.0;
/// A ray starts this far off its vertex, in edge lengths (clear of the vertex's own faces).
const START_EDGES: f32 = 0.1;

/// One sampled vertex whose ray met a back face.
#[derive(Clone, Copy)]
struct Hit {
    vertex: u32,
    gap: f32,
    other_shell: bool,
}

/// Finds the double surfaces of a scan whose mean edge is `edge` mm.
pub fn find(scan: &ScanRef<'_, '_>, edge: f32, settings: &Settings) -> Vec<Layer> {
    let p = scan.positions();
    let normals = scan.vertex_normals();
    if p.len() < 50 || normals.len() != p.len() {
        return Vec::new();
    }
    let step = (COARSE_MM.powi(2) / (0.87 * edge.max(1e-3).powi(2)))
        .round()
        .max(1.0) as usize;
    let cast = |v: usize| back_hit(scan, v, settings.max_gap, edge);
    let coarse: Vec<u32> = (0..p.len())
        .into_par_iter()
        .step_by(step)
        .filter_map(|v| cast(v).map(|h| h.vertex))
        .collect();
    let hits: Vec<Hit> = around(scan, &coarse, REFINE_MM)
        .into_par_iter()
        .filter_map(|v| cast(v as usize))
        .collect();
    clusters(p, &hits, (3.0 * edge).max(LINK_MM))
        .into_iter()
        .filter_map(|c| measure(scan, &c, settings))
        .collect()
}

/// The vertices within `reach` mm (straight distance) of any of `seeds`, over the graph.
fn around(scan: &ScanRef<'_, '_>, seeds: &[u32], reach: f32) -> Vec<u32> {
    let p = scan.positions();
    let mut from: FastMap<u32, u32> = seeds.iter().map(|&v| (v, v)).collect();
    let mut queue: std::collections::VecDeque<u32> = seeds.iter().copied().collect();
    while let Some(v) = queue.pop_front() {
        let origin = p[from[&v] as usize];
        for &w in scan.neighbours(v as usize) {
            let q = p[w as usize];
            let d2: f32 = (0..3).map(|k| (q[k] - origin[k]).powi(2)).sum();
            if d2 <= reach * reach && !from.contains_key(&w) {
                from.insert(w, from[&v]);
                queue.push_back(w);
            }
        }
    }
    from.into_keys().collect()
}

/// The ray from `v` outwards: its first hit within `max_gap`, if that is the back of a face
/// that is not one of `v`'s own.
fn back_hit(scan: &ScanRef<'_, '_>, v: usize, max_gap: f32, edge: f32) -> Option<Hit> {
    if scan.on_boundary().get(v).copied().unwrap_or(true) {
        return None;
    }
    let (p, n) = (scan.positions()[v], scan.vertex_normals()[v]);
    let start = START_EDGES * edge;
    let origin = [0, 1, 2].map(|k| p[k] + start * n[k]);
    let hit = scan.cast_ray(origin, n, max_gap)?;
    let own = scan.triangles().get(hit.triangle as usize)?;
    let ring = scan.neighbours(v);
    if own.iter().any(|&w| w as usize == v || ring.contains(&w)) {
        return None;
    }
    let facing: f32 = (0..3).map(|k| hit.normal[k] * n[k]).sum();
    if facing <= 0.8 || hit.distance + start < 0.05 {
        return None;
    }
    let comp = scan.face_component();
    let other_shell = match (comp.get(hit.triangle as usize), own_face(scan, v)) {
        (Some(a), Some(f)) => comp.get(f).is_some_and(|b| b != a),
        _ => false,
    };
    Some(Hit {
        vertex: v as u32,
        gap: hit.distance + start,
        other_shell,
    })
}

/// A face of vertex `v`: the triangle under it, from the host's BVH.
fn own_face(scan: &ScanRef<'_, '_>, v: usize) -> Option<usize> {
    let hit = scan.closest_point(scan.positions()[v], 0.01)?;
    Some(hit.triangle as usize)
}

/// Groups hits whose vertices lie within `link` of each other (a grid of `link` cells).
fn clusters(p: &[[f32; 3]], hits: &[Hit], link: f32) -> Vec<Vec<Hit>> {
    let cell = |q: [f32; 3]| q.map(|x| (x / link).floor() as i32);
    let mut grid: FastMap<[i32; 3], Vec<usize>> = FastMap::default();
    for (i, h) in hits.iter().enumerate() {
        grid.entry(cell(p[h.vertex as usize])).or_default().push(i);
    }
    let mut group = vec![usize::MAX; hits.len()];
    let mut out = Vec::new();
    for start in 0..hits.len() {
        if group[start] != usize::MAX {
            continue;
        }
        let id = out.len();
        group[start] = id;
        let mut members = vec![start];
        let mut i = 0;
        while i < members.len() {
            let q = p[hits[members[i]].vertex as usize];
            i += 1;
            let c = cell(q);
            for dx in -1..=1 {
                for dy in -1..=1 {
                    for dz in -1..=1 {
                        let Some(list) = grid.get(&[c[0] + dx, c[1] + dy, c[2] + dz]) else {
                            continue;
                        };
                        for &j in list {
                            let r = p[hits[j].vertex as usize];
                            let d2: f32 = (0..3).map(|k| (q[k] - r[k]).powi(2)).sum();
                            if group[j] == usize::MAX && d2 <= link * link {
                                group[j] = id;
                                members.push(j);
                            }
                        }
                    }
                }
            }
        }
        out.push(members.iter().map(|&j| hits[j]).collect());
    }
    out
}

fn measure(scan: &ScanRef<'_, '_>, hits: &[Hit], settings: &Settings) -> Option<Layer> {
    if hits.len() < 3 {
        return None;
    }
    let p = scan.positions();
    let n = scan.vertex_normals();
    let pts: Vec<[f32; 3]> = hits.iter().map(|h| p[h.vertex as usize]).collect();
    let size = extent(&pts);
    if size < settings.min_size {
        return None;
    }
    let mut gaps: Vec<f32> = hits.iter().map(|h| h.gap).collect();
    gaps.sort_by(f32::total_cmp);
    let gap = gaps[gaps.len() / 2];
    // Two sheets are parallel: the gap holds steady across the patch (a fold or a crease
    // met at a slant gives scattered gaps), and the patch covers at least a disc of the
    // smallest size reported.
    let spread = gaps[gaps.len() * 3 / 4] - gaps[gaps.len() / 4];
    let covered = hits.len() as f32 * mean_vertex_area(scan);
    let disc = std::f32::consts::PI * (0.5 * settings.min_size).powi(2);
    if spread > (GAP_SPREAD * gap).max(MIN_GAP_SPREAD_MM) || covered < disc {
        return None;
    }
    let count = hits.len() as f32;
    let centre = [0, 1, 2].map(|k| {
        hits.iter()
            .map(|h| p[h.vertex as usize][k] + 0.5 * h.gap * n[h.vertex as usize][k])
            .sum::<f32>()
            / count
    });
    Some(Layer {
        centre,
        size,
        gap,
        area: covered,
        separate_shell: hits.iter().filter(|h| h.other_shell).count() * 2 > hits.len(),
        vertices: hits.iter().map(|h| h.vertex).collect(),
    })
}

/// The largest distance between two points (over the extreme points along a few axes).
fn extent(pts: &[[f32; 3]]) -> f32 {
    let mut best = 0.0f32;
    let dirs = [
        [1.0, 0.0, 0.0],
        [0.0, 1.0, 0.0],
        [0.0, 0.0, 1.0],
        [0.577, 0.577, 0.577],
        [0.577, -0.577, 0.577],
        [-0.577, 0.577, 0.577],
        [0.577, 0.577, -0.577],
    ];
    for d in dirs {
        let proj = |q: &[f32; 3]| q[0] * d[0] + q[1] * d[1] + q[2] * d[2];
        let lo = pts.iter().min_by(|a, b| proj(a).total_cmp(&proj(b)));
        let hi = pts.iter().max_by(|a, b| proj(a).total_cmp(&proj(b)));
        if let (Some(a), Some(b)) = (lo, hi) {
            let d: f32 = (0..3).map(|k| (a[k] - b[k]).powi(2)).sum::<f32>().sqrt();
            best = best.max(d);
        }
    }
    best
}

/// Surface area per vertex, mm² (total face area over the vertex count).
fn mean_vertex_area(scan: &ScanRef<'_, '_>) -> f32 {
    let total: f32 = scan.face_areas().iter().sum();
    total / scan.positions().len().max(1) as f32
}

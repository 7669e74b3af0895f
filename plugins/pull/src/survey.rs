//! Surveying: the undercuts of each tooth against a path of withdrawal, and the estimate of
//! that path, as a dental surveyor finds them.
//!
//! **Survey line and depth.** Seen along the withdrawal axis, a tooth's widest outline is
//! its survey line (height of contour). In each 2° sector around the tooth's axis the widest
//! point (of it and its neighbours) sets the line; a point of the same sector lower down and further in lies in the
//! undercut, and its depth is the horizontal distance in to it from the line (what a
//! surveyor's undercut gauge reads: 0.25 / 0.5 / 0.75 mm). A point only counts when the
//! host's BVH confirms it is hidden: a ray from it along the axis hits the surface (so an
//! open fossa between cusps, lower than the line but open to the tray, is no undercut).
//!
//! **Path of withdrawal.** Without one in the case file it is the direction, searched within
//! 20° of the occlusal-plane normal, that minimises the teeth's summed squared undercut
//! depth (area weighted): the squares prefer a path that shares the undercuts out between
//! the sides of each tooth, as surveyors tilt a cast to balance them.

use nalgebra::{Unit, Vector3};
use rayon::prelude::*;

/// A 3-vector.
pub type V3 = Vector3<f32>;

/// Angular sectors around a tooth's axis.
const SECTORS: usize = 180;
/// Points further in from the survey line than this are not the tooth's wall (an occlusal
/// fossa, a cusp's inner slope), mm.
const WALL_REACH: f32 = 2.5;
/// A wall point faces sideways or down: its normal's component along the axis is below this.
const WALL_NORMAL: f32 = 0.35;

/// Which vertices' undercuts count (the host's arch coordinates decide: a proximal surface
/// under a contact is covered by the neighbour and its papilla, not by the tray).
pub type Sides<'a> = dyn Fn(u32) -> bool + Sync + 'a;

/// One tooth's vertices.
#[derive(Debug, Clone)]
pub struct ToothPoints {
    /// FDI number.
    pub fdi: u8,
    /// Its vertices.
    pub vertices: Vec<u32>,
}

/// Groups vertices by their (non-zero) tooth label, in FDI order.
pub fn group_teeth(labels: &[u8]) -> Vec<ToothPoints> {
    let mut by: std::collections::BTreeMap<u8, Vec<u32>> = Default::default();
    for (v, &l) in labels.iter().enumerate() {
        if l != 0 {
            by.entry(l).or_default().push(v as u32);
        }
    }
    by.into_iter()
        .filter(|(_, v)| v.len() >= 30)
        .map(|(fdi, vertices)| ToothPoints { fdi, vertices })
        .collect()
}

/// What the survey needs of the scan.
pub struct Mesh<'a> {
    /// Positions (smoothed of scanner noise).
    pub positions: &'a [[f32; 3]],
    /// Unit vertex normals.
    pub normals: &'a [[f32; 3]],
    /// Area around each vertex (a third of its faces'), mm².
    pub vertex_area: &'a [f32],
}

fn v3(p: [f32; 3]) -> V3 {
    V3::new(p[0], p[1], p[2])
}

/// Two unit vectors completing `axis` to a right-handed frame.
pub fn plane_frame(axis: &V3) -> (V3, V3) {
    let helper = if axis.x.abs() < 0.9 { V3::x() } else { V3::y() };
    let e1 = axis.cross(&helper).normalize();
    (e1, axis.cross(&e1))
}

/// A wall point below the survey line: vertex, depth (mm).
#[derive(Debug, Clone, Copy)]
pub struct Below {
    /// Vertex.
    pub vertex: u32,
    /// Horizontal distance in from the survey line, mm.
    pub depth: f32,
}

/// The points of one tooth that lie below its survey line for `axis`, with their depth, from
/// every `stride`-th vertex. Without a ray check (see [`undercut`]) only wall points (facing
/// sideways or down) count, so an open fossa below the line's height is not taken for an
/// undercut.
pub fn below_line(
    mesh: &Mesh<'_>,
    tooth: &ToothPoints,
    axis: &V3,
    stride: usize,
    walls_only: bool,
    sides: &Sides<'_>,
) -> Vec<Below> {
    let (e1, e2) = plane_frame(axis);
    let n = tooth.vertices.len() as f32;
    let centre = tooth
        .vertices
        .iter()
        .fold(V3::zeros(), |a, &v| a + v3(mesh.positions[v as usize]))
        / n;
    let polar = |v: u32| {
        let d = v3(mesh.positions[v as usize]) - centre;
        let (x, y) = (d.dot(&e1), d.dot(&e2));
        let angle = y.atan2(x) + std::f32::consts::PI;
        let sector = ((angle / std::f32::consts::TAU * SECTORS as f32) as usize).min(SECTORS - 1);
        (sector, x.hypot(y), d.dot(axis))
    };
    let mut widest = [(f32::MIN, 0.0f32); SECTORS];
    let points: Vec<(u32, usize, f32, f32)> = tooth
        .vertices
        .iter()
        .step_by(stride.max(1))
        .map(|&v| {
            let (k, rho, h) = polar(v);
            if rho > widest[k].0 {
                widest[k] = (rho, h);
            }
            (v, k, rho, h)
        })
        .collect();
    // The line over a sector is the widest point of it and its two neighbours (6°), so a
    // sector the mesh left without a point on the outline does not lower it.
    let widest: Vec<(f32, f32)> = (0..SECTORS)
        .map(|k| {
            let around = [(k + SECTORS - 1) % SECTORS, k, (k + 1) % SECTORS];
            around
                .iter()
                .map(|&j| widest[j])
                .fold((f32::MIN, 0.0), |a, b| if b.0 > a.0 { b } else { a })
        })
        .collect();
    points
        .into_iter()
        .filter_map(|(v, k, rho, h)| {
            let depth = widest[k].0 - rho;
            let wall = !walls_only || v3(mesh.normals[v as usize]).dot(axis) < WALL_NORMAL;
            (h < widest[k].1 && wall && depth > 0.0 && depth < WALL_REACH && sides(v))
                .then_some(Below { vertex: v, depth })
        })
        .collect()
}

/// One tooth's undercut against an axis.
#[derive(Debug, Clone, Default)]
pub struct Undercut {
    /// FDI number.
    pub fdi: u8,
    /// Deepest confirmed undercut, mm.
    pub depth: f32,
    /// Hidden surface in all (deeper than 0.05 mm), mm².
    pub area: f32,
    /// Hidden surface deeper than 0.25 mm, mm².
    pub area_quarter: f32,
    /// Hidden surface deeper than 0.5 mm, mm².
    pub area_half: f32,
    /// The deepest vertex.
    pub deepest: Option<u32>,
    /// Hidden vertices deeper than 0.25 mm.
    pub vertices: Vec<u32>,
}

/// Something that can say whether a ray hits the surface.
pub trait Rays: Sync {
    /// The ray from `origin` along `direction` hits the surface within `max` mm.
    fn hits(&self, origin: [f32; 3], direction: [f32; 3], max: f32) -> bool;
}

/// The confirmed undercut of one tooth: points below the survey line that a ray along the
/// axis cannot leave.
pub fn undercut(
    mesh: &Mesh<'_>,
    tooth: &ToothPoints,
    axis: &V3,
    rays: &dyn Rays,
    sides: &Sides<'_>,
) -> Undercut {
    let candidates = below_line(mesh, tooth, axis, 1, false, sides);
    let dir = [axis.x, axis.y, axis.z];
    let mut out = Undercut {
        fdi: tooth.fdi,
        ..Default::default()
    };
    for b in candidates.iter().filter(|b| b.depth >= 0.05) {
        let p = v3(mesh.positions[b.vertex as usize]) + axis * 0.05;
        if !rays.hits([p.x, p.y, p.z], dir, 30.0) {
            continue;
        }
        let a = mesh.vertex_area[b.vertex as usize];
        out.area += a;
        if b.depth >= 0.25 {
            out.area_quarter += a;
            out.vertices.push(b.vertex);
        }
        if b.depth >= 0.5 {
            out.area_half += a;
        }
        if b.depth > out.depth {
            out.depth = b.depth;
            out.deepest = Some(b.vertex);
        }
    }
    out
}

/// The teeth's summed squared undercut depth, area weighted, for `axis` (every `stride`-th
/// vertex).
pub fn cost(
    mesh: &Mesh<'_>,
    teeth: &[ToothPoints],
    axis: &V3,
    stride: usize,
    sides: &Sides<'_>,
) -> f32 {
    teeth
        .par_iter()
        .map(|t| {
            below_line(mesh, t, axis, stride, true, sides)
                .iter()
                .map(|b| b.depth * b.depth * mesh.vertex_area[b.vertex as usize])
                .sum::<f32>()
        })
        .sum()
}

/// The path of withdrawal: the direction within `max_tilt_deg` of `occlusal` that minimises
/// [`cost`], by a pattern search over tilts (8° steps halved down to 0.25°).
pub fn estimate_path(
    mesh: &Mesh<'_>,
    teeth: &[ToothPoints],
    occlusal: &V3,
    max_tilt_deg: f32,
    sides: &Sides<'_>,
) -> V3 {
    let total: usize = teeth.iter().map(|t| t.vertices.len()).sum();
    // About 60k points per evaluation keeps the search to tens of milliseconds.
    let stride = (total / 60_000).max(1);
    let (e1, e2) = plane_frame(occlusal);
    let at = |a: f32, b: f32| {
        let (a, b) = (a.to_radians(), b.to_radians());
        Unit::new_normalize(occlusal + e1 * a.tan() + e2 * b.tan()).into_inner()
    };
    let mut best = (0.0f32, 0.0f32);
    let mut best_cost = cost(mesh, teeth, occlusal, stride, sides);
    let mut step = 8.0f32;
    while step >= 0.25 {
        let mut moved = false;
        for (da, db) in [(step, 0.0), (-step, 0.0), (0.0, step), (0.0, -step)] {
            let (a, b) = (best.0 + da, best.1 + db);
            if a.hypot(b) > max_tilt_deg {
                continue;
            }
            let c = cost(mesh, teeth, &at(a, b), stride, sides);
            if c < best_cost {
                best_cost = c;
                best = (a, b);
                moved = true;
            }
        }
        if !moved {
            step /= 2.0;
        }
    }
    at(best.0, best.1)
}

pub use imprint_core::derived::vertex_areas;

#[cfg(test)]
mod tests {
    //! A sphere sunk into a plane, withdrawn along +Z: the zone between the plane and the
    //! equator is hidden, and a point `y` below the equator lies `r − √(r² − y²)` in from
    //! the survey line (the equator). Known answers, measured on a fine mesh.
    use super::*;
    use imprint_core::derived::{face_normals_and_areas, vertex_normals, Bvh};

    const R: f32 = 3.0;
    const CENTRE: f32 = 1.5;

    struct BvhRays(Bvh);

    impl Rays for BvhRays {
        fn hits(&self, origin: [f32; 3], direction: [f32; 3], max: f32) -> bool {
            self.0.cast_ray(origin, direction, max).is_some()
        }
    }

    /// The sphere above the plane (its cap, the faces that cross the plane flattened onto
    /// it, so the cap ends exactly there), then the plane; the sphere's vertices first.
    fn sunk_sphere() -> (Vec<[f32; 3]>, Vec<[u32; 3]>, usize) {
        let (p, t) = imprint_core::shapes::icosphere(R, 6);
        let above = |q: &[f32; 3]| q[2] + CENTRE > 0.0;
        let kept: Vec<&[u32; 3]> = t
            .iter()
            .filter(|f| f.iter().any(|&v| above(&p[v as usize])))
            .collect();
        let mut index = vec![u32::MAX; p.len()];
        let mut positions = Vec::new();
        for &v in kept.iter().flat_map(|f| f.iter()) {
            if index[v as usize] == u32::MAX {
                index[v as usize] = positions.len() as u32;
                let q = p[v as usize];
                positions.push(if above(&q) {
                    [q[0], q[1], q[2] + CENTRE]
                } else {
                    // Onto the circle where the sphere meets the plane.
                    let k = (R * R - CENTRE * CENTRE).sqrt() / q[0].hypot(q[1]);
                    [q[0] * k, q[1] * k, 0.0]
                });
            }
        }
        let mut triangles: Vec<[u32; 3]> =
            kept.iter().map(|f| f.map(|v| index[v as usize])).collect();
        let sphere = positions.len();
        let (plane, faces) = imprint_core::shapes::grid_plane(60, 20.0);
        let base = positions.len() as u32;
        positions.extend(plane.iter().map(|q| [q[0] - 10.0, q[1] - 10.0, 0.0]));
        triangles.extend(faces.iter().map(|f| f.map(|v| v + base)));
        (positions, triangles, sphere)
    }

    /// The scene's normals and vertex areas, and its sphere's vertex count.
    struct Scene {
        positions: Vec<[f32; 3]>,
        triangles: Vec<[u32; 3]>,
        normals: Vec<[f32; 3]>,
        areas: Vec<f32>,
        sphere: usize,
    }

    impl Scene {
        fn new() -> Self {
            let (positions, triangles, sphere) = sunk_sphere();
            let normals = vertex_normals(&positions, &triangles);
            let (_, face_areas) = face_normals_and_areas(&positions, &triangles);
            let areas = vertex_areas(positions.len(), &triangles, &face_areas);
            Self {
                positions,
                triangles,
                normals,
                areas,
                sphere,
            }
        }

        fn mesh(&self) -> Mesh<'_> {
            Mesh {
                positions: &self.positions,
                normals: &self.normals,
                vertex_area: &self.areas,
            }
        }

        fn tooth(&self) -> ToothPoints {
            ToothPoints {
                fdi: 36,
                vertices: (0..self.sphere as u32).collect(),
            }
        }
    }

    fn zone_area(from_below_equator: f32) -> f32 {
        2.0 * std::f32::consts::PI * R * (CENTRE - from_below_equator)
    }

    #[test]
    fn a_sunk_sphere_has_its_exact_undercut() {
        let scene = Scene::new();
        let (mesh, tooth) = (scene.mesh(), scene.tooth());
        let rays = BvhRays(Bvh::build(&scene.positions, &scene.triangles));
        let u = undercut(&mesh, &tooth, &V3::z(), &rays, &|_| true);
        let depth = R - (R * R - CENTRE * CENTRE).sqrt();
        assert!(
            (u.depth - depth).abs() < 0.01,
            "depth {} against {depth}",
            u.depth
        );
        // Depth d at y below the equator: y = √(r² − (r − d)²).
        let below = |d: f32| (R * R - (R - d) * (R - d)).sqrt();
        for (got, d) in [(u.area, 0.05), (u.area_quarter, 0.25)] {
            let want = zone_area(below(d));
            assert!(
                (got - want).abs() < 0.05 * want,
                "area deeper than {d} mm: {got} against {want}"
            );
        }
        assert_eq!(u.area_half, 0.0, "nothing is 0.5 mm deep");
        // Tilted 10°, the undercut moves to one side but stays on the sphere.
        let tilted = V3::new(10f32.to_radians().sin(), 0.0, 10f32.to_radians().cos());
        let v = undercut(&mesh, &tooth, &tilted, &rays, &|_| true);
        assert!(
            v.depth > u.depth,
            "a tilted path deepens the undercut on one side"
        );
    }

    #[test]
    fn the_path_search_finds_the_symmetric_axis() {
        let scene = Scene::new();
        let (mesh, teeth) = (scene.mesh(), [scene.tooth()]);
        let start = V3::new(0.1, 0.05, 1.0).normalize();
        let axis = estimate_path(&mesh, &teeth, &start, 20.0, &|_| true);
        let off = axis.dot(&V3::z()).clamp(-1.0, 1.0).acos().to_degrees();
        assert!(off < 1.0, "estimate {off}° off the sphere's axis");
    }
}

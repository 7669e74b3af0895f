//! Drag marks as a moving tray leaves them: a fold of setting material (or the tray's edge)
//! pressed against the surface slides along one direction in space and scores the surface
//! along its path. Each mark is traced over the true surface, stepping along the sliding
//! direction projected into the surface's tangent plane, so it follows the tooth over a cusp
//! or down a wall the way a real scratch does, and stops where the surface faces the motion
//! head-on (the tray would push into it, not slide along it). The vertices within half the
//! mark's width of its path are displaced along their normals with a rounded cross-section.

use crate::defects::{truth, Placed};
use crate::surface::GridMesh;
use crate::truth::TrueDefect;
use imprint_core::finding::{FindingKind, Severity};
use rand::Rng;

/// The true surface: canonical-frame point at domain coordinates `(s, t)`.
pub type SurfaceFn<'a> = dyn Fn(f32, f32) -> [f32; 3] + Sync + 'a;

/// The widest drag mark, mm.
pub const MAX_WIDTH: f32 = 0.8;
/// The shortest mark kept, mm (a tray that scores less has not slid).
const MIN_LENGTH: f32 = 2.0;
/// Step along a traced mark, mm.
const STEP: f32 = 0.1;

/// A set of 1–3 parallel drag marks (a tray that slid while the material set): grooves on
/// the positive, or ridges, up to `length` mm long, 0.3–0.8 mm wide, 0.05–0.5 mm deep, their
/// starts 1.4–2.3 mm apart across the motion (each mark distinct), all made by one motion: a
/// direction in space, mostly level with the occlusal plane (tilted up to 30°). Each mark is
/// its own true defect; `size_mm` is its traced length, and its `direction` the unit chord
/// from start to end.
pub fn drag_set(
    mesh: &mut GridMesh,
    normals: &[[f32; 3]],
    surface: &SurfaceFn<'_>,
    start: u32,
    length: f32,
    id: &str,
    rng: &mut impl Rng,
) -> Vec<Placed> {
    let angle = rng.random_range(0.0..std::f32::consts::PI);
    let count = rng.random_range(1..=3);
    let spacing = rng.random_range(0.6..1.5f32) + MAX_WIDTH;
    let sign = if rng.random_bool(0.7) { -1.0 } else { 1.0 };
    let tilt = rng.random_range(-0.5..0.5f32);
    let motion = [
        angle.cos() * tilt.cos(),
        angle.sin() * tilt.cos(),
        tilt.sin(),
    ];
    let origin = mesh.domain[start as usize];
    (0..count)
        .filter_map(|k| {
            let offset = (k as f32 - (count - 1) as f32 / 2.0) * spacing;
            // Starts side by side across the motion, in the domain.
            let a = [
                origin[0] - offset * angle.sin(),
                origin[1] + offset * angle.cos(),
            ];
            let width = rng.random_range(0.3..MAX_WIDTH);
            let depth = rng.random_range(0.05..0.5f32).min(width * 1.5);
            let path = trace(surface, a, motion, length)?;
            let mark = Mark {
                path: &path,
                width,
                offset: sign * depth,
            };
            groove(mesh, normals, &mark, &format!("{id}.{}", k + 1))
        })
        .collect()
}

/// The path of a point sliding from domain point `a` along `motion` over the surface, up to
/// `length` mm (3-D points every [`STEP`]); `None` when it cannot slide [`MIN_LENGTH`].
fn trace(
    surface: &SurfaceFn<'_>,
    a: [f32; 2],
    motion: [f32; 3],
    length: f32,
) -> Option<Vec<[f32; 3]>> {
    let mut uv = a;
    let mut path = vec![surface(uv[0], uv[1])];
    while (path.len() - 1) as f32 * STEP < length {
        let Some(next) = step(surface, uv, motion) else {
            break;
        };
        uv = next;
        path.push(surface(uv[0], uv[1]));
    }
    ((path.len() - 1) as f32 * STEP >= MIN_LENGTH).then_some(path)
}

/// One step of [`STEP`] mm along the motion's tangential part, as a domain move; `None` where
/// the surface faces the motion head-on.
fn step(surface: &SurfaceFn<'_>, uv: [f32; 2], motion: [f32; 3]) -> Option<[f32; 2]> {
    let h = 0.01;
    let p = v3(surface(uv[0], uv[1]));
    let js = (v3(surface(uv[0] + h, uv[1])) - p) / h;
    let jt = (v3(surface(uv[0], uv[1] + h)) - p) / h;
    let n = js.cross(&jt).try_normalize(1e-9)?;
    let motion = v3(motion);
    let dn = motion.dot(&n);
    let t = (motion - n * dn)
        .try_normalize(1e-9)
        .filter(|_| dn.abs() < 0.8)?;
    // Least squares: js·ds + jt·dt = STEP·t.
    let (a, b, c) = (js.dot(&js), js.dot(&jt), jt.dot(&jt));
    let (r1, r2) = (STEP * js.dot(&t), STEP * jt.dot(&t));
    let det = a * c - b * b;
    if det.abs() < 1e-9 {
        return None;
    }
    Some([
        uv[0] + (c * r1 - b * r2) / det,
        uv[1] + (a * r2 - b * r1) / det,
    ])
}

/// A traced mark to press into the mesh.
struct Mark<'p> {
    path: &'p [[f32; 3]],
    width: f32,
    /// Along the normal: negative for a groove.
    offset: f32,
}

/// Displaces the vertices within half the mark's width of its path along their normals,
/// with a rounded cross-section and tapered ends; `None` when the mark misses the mesh.
fn groove(mesh: &mut GridMesh, normals: &[[f32; 3]], mark: &Mark<'_>, id: &str) -> Option<Placed> {
    let half = mark.width / 2.0;
    let length = (mark.path.len() - 1) as f32 * STEP;
    let (lo, hi) = bounds(mark.path, half);
    let mut affected = Vec::new();
    for (i, p) in mesh.positions.iter().enumerate() {
        if (0..3).any(|k| p[k] < lo[k] || p[k] > hi[k]) {
            continue;
        }
        let Some((d, seg, f)) = imprint_core::util::polyline_project(*p, mark.path, false) else {
            continue;
        };
        if d < half {
            let along = (seg as f32 + f) * STEP;
            let taper = (along.min(length - along) / half.max(0.2)).clamp(0.0, 1.0);
            affected.push((i, (1.0 - (d / half).powi(2)) * taper));
        }
    }
    if affected.len() < 3 {
        return None;
    }
    let mid = mark.path[mark.path.len() / 2];
    let tooth = affected
        .iter()
        .min_by(|x, y| dist(mesh.positions[x.0], mid).total_cmp(&dist(mesh.positions[y.0], mid)))
        .map_or(0, |x| mesh.labels[x.0]);
    for &(i, profile) in &affected {
        let (n, p) = (normals[i], &mut mesh.positions[i]);
        *p = std::array::from_fn(|k| p[k] + mark.offset * profile * n[k]);
    }
    let (p0, p1) = (mark.path[0], mark.path[mark.path.len() - 1]);
    let chord = dist(p0, p1).max(1e-6);
    let mut t = truth(
        id.to_string(),
        FindingKind::DragMark,
        mid,
        length,
        mark.offset.abs(),
        tooth,
    );
    t.direction = Some(std::array::from_fn(|k| (p1[k] - p0[k]) / chord));
    t.width_mm = Some(mark.width);
    t.path = mark.path.to_vec();
    t.severity = if tooth != 0 && mark.offset.abs() >= 0.1 {
        Severity::Major
    } else {
        Severity::Minor
    };
    Some(Placed {
        truth: t,
        vertices: affected.iter().map(|(i, _)| *i as u32).collect(),
        remove: Vec::new(),
    })
}

fn bounds(path: &[[f32; 3]], pad: f32) -> ([f32; 3], [f32; 3]) {
    let mut lo = [f32::MAX; 3];
    let mut hi = [f32::MIN; 3];
    for p in path {
        for k in 0..3 {
            lo[k] = lo[k].min(p[k] - pad);
            hi[k] = hi[k].max(p[k] + pad);
        }
    }
    (lo, hi)
}

fn v3(p: [f32; 3]) -> nalgebra::Vector3<f32> {
    nalgebra::Vector3::new(p[0], p[1], p[2])
}

fn dist(a: [f32; 3], b: [f32; 3]) -> f32 {
    (v3(a) - v3(b)).norm()
}

/// Marks of one set whose channels run together (see [`TrueDefect::merged_into`]): each mark
/// is compared with the stronger marks of its set (resolvable first, then the larger
/// cross-section, depth × width); one it runs apart from ([`apart_length`]) for less than
/// [`MIN_LENGTH`] takes it in. `resolvable` must already say whether each mark is wide and
/// deep enough on its own.
pub(crate) fn merge_channels(defects: &mut [TrueDefect]) {
    let mut marks: Vec<usize> = (0..defects.len())
        .filter(|&i| defects[i].kind == FindingKind::DragMark && !defects[i].path.is_empty())
        .collect();
    let strength = |d: &TrueDefect| d.depth_mm * d.width_mm.unwrap_or(0.0);
    marks.sort_by(|&a, &b| {
        let (a, b) = (&defects[a], &defects[b]);
        b.resolvable
            .cmp(&a.resolvable)
            .then(strength(b).total_cmp(&strength(a)))
            .then(a.id.cmp(&b.id))
    });
    for (k, &i) in marks.iter().enumerate() {
        let into = marks[..k].iter().copied().find(|&j| {
            same_set(&defects[i].id, &defects[j].id)
                && apart_length(&defects[i], &defects[j]) < MIN_LENGTH
        });
        if let Some(j) = into {
            let target = defects[j]
                .merged_into
                .clone()
                .unwrap_or_else(|| defects[j].id.clone());
            defects[i].merged_into = Some(target);
            defects[i].resolvable = false;
        }
    }
}

/// Marks of one set share the id before the last dot ("D2.1", "D2.3").
fn same_set(a: &str, b: &str) -> bool {
    a.rsplit_once('.').map(|x| x.0) == b.rsplit_once('.').map(|x| x.0)
}

/// How long `a`'s channel runs apart from `b`'s, mm: where the ridge between the two (their
/// rounded cross-sections summed across the gap) stands at least half of `a`'s depth above
/// `a`'s floor.
fn apart_length(a: &TrueDefect, b: &TrueDefect) -> f32 {
    let (ha, hb) = (
        0.5 * a.width_mm.unwrap_or(0.0),
        0.5 * b.width_mm.unwrap_or(0.0),
    );
    let sunk =
        |x: f32, half: f32, depth: f32| depth * (1.0 - (x / half.max(1e-6)).powi(2)).max(0.0);
    let apart = a
        .path
        .iter()
        .filter(|p| {
            let Some((gap, ..)) = imprint_core::util::polyline_project(**p, &b.path, false) else {
                return true;
            };
            let at = |x: f32| sunk(x, ha, a.depth_mm) + sunk(gap - x, hb, b.depth_mm);
            let ridge = (0..=20)
                .map(|k| at(gap * k as f32 / 20.0))
                .fold(f32::INFINITY, f32::min);
            at(0.0) - ridge >= 0.5 * a.depth_mm
        })
        .count();
    apart.saturating_sub(1) as f32 * STEP
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A mark along x from `x0` to `x1`, at `y(x)` across.
    fn mark(id: &str, y: impl Fn(f32) -> f32, (x0, x1): (f32, f32), depth: f32) -> TrueDefect {
        let steps = ((x1 - x0) / STEP).round() as usize;
        let path: Vec<[f32; 3]> = (0..=steps)
            .map(|k| {
                let x = x0 + k as f32 * STEP;
                [x, y(x), 0.0]
            })
            .collect();
        let mut t = truth(
            id.into(),
            FindingKind::DragMark,
            path[steps / 2],
            x1 - x0,
            depth,
            0,
        );
        t.width_mm = Some(0.6);
        t.path = path;
        t
    }

    fn merged(a: TrueDefect, b: TrueDefect) -> Vec<Option<String>> {
        let mut defects = vec![a, b];
        merge_channels(&mut defects);
        defects.into_iter().map(|d| d.merged_into).collect()
    }

    #[test]
    fn overlapping_channels_of_a_set_are_one_mark() {
        let deep = || mark("D1.1", |_| 0.0, (0.0, 5.0), 0.3);
        // 0.2 mm apart: no ridge between the two 0.6 mm channels.
        let close = mark("D1.2", |_| 0.2, (0.0, 5.0), 0.1);
        assert_eq!(merged(deep(), close), vec![None, Some("D1.1".into())]);
        // Edge to edge: an untouched ridge between them.
        let beside = mark("D1.2", |_| 0.6, (0.0, 5.0), 0.1);
        assert_eq!(merged(deep(), beside), vec![None, None]);
        // Together for 2 mm, then 3 mm on its own: a mark of its own.
        let parting = mark("D1.2", |x| 0.2 + 0.5 * (x - 2.0).max(0.0), (0.0, 5.0), 0.1);
        assert_eq!(merged(deep(), parting), vec![None, None]);
        // Another set's mark is never merged.
        let other_set = mark("D2.1", |_| 0.2, (0.0, 5.0), 0.1);
        assert_eq!(merged(deep(), other_set), vec![None, None]);
    }
}

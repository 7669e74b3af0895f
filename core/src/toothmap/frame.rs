//! The arch frame: the occlusal direction and plane, the arch curve in that plane, and the
//! arch coordinates of every vertex — `s` along the arch (0 at the midline), `t` across it
//! (buccal positive) and `h` along the occlusal direction (0 on the occlusal plane).

use nalgebra::{Matrix3, Vector3};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

type V3 = Vector3<f32>;

fn v3(p: [f32; 3]) -> V3 {
    V3::new(p[0], p[1], p[2])
}

/// The arch curve: a polyline in the occlusal plane, parametrised by arc length.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchCurve {
    /// Points `(x, y)` in plane coordinates, in order of increasing arc length.
    pub points: Vec<[f32; 2]>,
    /// Arc length at each point, mm; 0 at the midline.
    pub s: Vec<f32>,
}

impl ArchCurve {
    /// A curve through `points`, with arc length measured from the point nearest to where
    /// the curve crosses `x = 0` on its front (largest `y`) side.
    pub fn through(points: Vec<[f32; 2]>) -> Self {
        let mut s = Vec::with_capacity(points.len());
        let mut acc = 0.0f32;
        for (i, p) in points.iter().enumerate() {
            if i > 0 {
                let q = points[i - 1];
                acc += (p[0] - q[0]).hypot(p[1] - q[1]);
            }
            s.push(acc);
        }
        let zero = (1..points.len())
            .filter(|&i| (points[i - 1][0] <= 0.0) != (points[i][0] <= 0.0))
            .max_by(|&a, &b| points[a][1].total_cmp(&points[b][1]))
            .map(|i| {
                let (a, b) = (points[i - 1], points[i]);
                let f = a[0] / (a[0] - b[0]);
                s[i - 1] + f * (s[i] - s[i - 1])
            })
            .unwrap_or(acc / 2.0);
        s.iter_mut().for_each(|v| *v -= zero);
        Self { points, s }
    }

    /// Nearest point of the curve to `(x, y)`, searched from segment `start`: returns
    /// `(s, t)`, with `t` positive on the outer (buccal) side.
    pub fn project(&self, x: f32, y: f32, start: usize) -> (f32, f32) {
        let n = self.points.len();
        if n < 2 {
            return (0.0, 0.0);
        }
        // Walk on squared distances alone; the arc length and side of the nearest segment
        // only once at the end.
        let mut k = start.min(n - 2);
        let mut best = segment_dist2(self, k, x, y);
        loop {
            let mut moved = false;
            for cand in [k.wrapping_sub(1), k + 1] {
                if cand < n - 1 {
                    let d2 = segment_dist2(self, cand, x, y);
                    if d2 < best {
                        best = d2;
                        k = cand;
                        moved = true;
                        break;
                    }
                }
            }
            if !moved {
                break;
            }
        }
        let (a, b) = (self.points[k], self.points[k + 1]);
        let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
        let len2 = (dx * dx + dy * dy).max(1e-12);
        let f = (((x - a[0]) * dx + (y - a[1]) * dy) / len2).clamp(0.0, 1.0);
        let (px, py) = (a[0] + f * dx, a[1] + f * dy);
        // Outward normal (−dy, dx) for a curve running towards +x at its front.
        let side = (-dy * (x - px) + dx * (y - py)).signum();
        let s = self.s[k] + f * (self.s[k + 1] - self.s[k]);
        (s, side * best.sqrt())
    }

    /// Point and unit tangent at arc length `s`.
    pub fn at(&self, s: f32) -> ([f32; 2], [f32; 2]) {
        let n = self.points.len();
        let i = self.s.partition_point(|v| *v < s).clamp(1, n.max(2) - 1);
        if n < 2 {
            return ([0.0, 0.0], [1.0, 0.0]);
        }
        let (a, b) = (self.points[i - 1], self.points[i]);
        let span = (self.s[i] - self.s[i - 1]).max(1e-9);
        let f = (s - self.s[i - 1]) / span;
        let len = (b[0] - a[0]).hypot(b[1] - a[1]).max(1e-9);
        (
            [a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1])],
            [(b[0] - a[0]) / len, (b[1] - a[1]) / len],
        )
    }
}

/// The frame of one arch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchFrame {
    /// Unit occlusal direction: from the gingiva towards the cusp tips.
    pub occlusal: [f32; 3],
    /// Origin of plane coordinates: on the occlusal plane, inside the arch.
    pub origin: [f32; 3],
    /// Unit direction towards the incisors, in the occlusal plane (plane `y`).
    pub anterior: [f32; 3],
    /// `anterior × occlusal`, the side of increasing arch length (plane `x`).
    pub lateral: [f32; 3],
    /// The arch curve through the crowns.
    pub curve: ArchCurve,
    /// RMS distance of the cusp tips from the fitted occlusal plane, mm.
    pub plane_rms_mm: f32,
}

/// Arch coordinates of every vertex.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ArchCoords {
    /// Along the arch, mm; 0 at the midline, positive towards `lateral`.
    pub s: Vec<f32>,
    /// Across the arch, mm; positive buccal.
    pub t: Vec<f32>,
    /// Along the occlusal direction, mm; 0 on the occlusal plane.
    pub h: Vec<f32>,
}

impl ArchFrame {
    /// Plane coordinates `(x, y, h)` of a point.
    pub fn plane_coords(&self, p: [f32; 3]) -> [f32; 3] {
        let d = v3(p) - v3(self.origin);
        [
            d.dot(&v3(self.lateral)),
            d.dot(&v3(self.anterior)),
            d.dot(&v3(self.occlusal)),
        ]
    }

    /// Arch coordinates of every position.
    pub fn coords(&self, positions: &[[f32; 3]]) -> ArchCoords {
        let starts = StartGrid::new(&self.curve);
        let triples: Vec<(f32, f32, f32)> = positions
            .par_iter()
            .map(|p| {
                let [x, y, h] = self.plane_coords(*p);
                let (s, t) = self.curve.project(x, y, starts.at(x, y));
                (s, t, h)
            })
            .collect();
        let mut out = ArchCoords {
            s: Vec::with_capacity(positions.len()),
            t: Vec::with_capacity(positions.len()),
            h: Vec::with_capacity(positions.len()),
        };
        for (s, t, h) in triples {
            out.s.push(s);
            out.t.push(t);
            out.h.push(h);
        }
        out
    }

    /// A point given in arch coordinates, back in scan coordinates.
    pub fn point(&self, s: f32, t: f32, h: f32) -> [f32; 3] {
        let (p, tan) = self.curve.at(s);
        let (x, y) = (p[0] - t * tan[1], p[1] + t * tan[0]);
        let q =
            v3(self.origin) + v3(self.lateral) * x + v3(self.anterior) * y + v3(self.occlusal) * h;
        [q.x, q.y, q.z]
    }

    /// The unit tangent of the arch at `s` (towards increasing `s`) and the unit buccal
    /// direction, in scan coordinates.
    pub fn directions_at(&self, s: f32) -> ([f32; 3], [f32; 3]) {
        let (_, tan) = self.curve.at(s);
        let along = v3(self.lateral) * tan[0] + v3(self.anterior) * tan[1];
        let buccal = v3(self.lateral) * -tan[1] + v3(self.anterior) * tan[0];
        ([along.x, along.y, along.z], [buccal.x, buccal.y, buccal.z])
    }
}

/// The nearest segment of a curve at the centre of every 2 mm cell around it: a start for
/// [`ArchCurve::project`]'s local search, so that it ends in a step or two.
struct StartGrid {
    origin: [f32; 2],
    cols: usize,
    rows: usize,
    segment: Vec<u32>,
}

impl StartGrid {
    const CELL: f32 = 2.0;
    const PAD: f32 = 40.0;

    fn new(curve: &ArchCurve) -> Self {
        let (lo, hi) = curve.points.iter().fold(
            ([f32::INFINITY; 2], [f32::NEG_INFINITY; 2]),
            |(lo, hi), p| {
                (
                    [lo[0].min(p[0]), lo[1].min(p[1])],
                    [hi[0].max(p[0]), hi[1].max(p[1])],
                )
            },
        );
        let origin = [lo[0] - Self::PAD, lo[1] - Self::PAD];
        let size =
            |c: usize| (((hi[c] - lo[c] + 2.0 * Self::PAD) / Self::CELL) as usize + 1).min(2000);
        let (cols, rows) = (size(0), size(1));
        let segments = curve.points.len().saturating_sub(1).max(1);
        let segment = (0..cols * rows)
            .into_par_iter()
            .map(|k| {
                let x = origin[0] + ((k % cols) as f32 + 0.5) * Self::CELL;
                let y = origin[1] + ((k / cols) as f32 + 0.5) * Self::CELL;
                (0..segments)
                    .map(|k| (k, segment_dist2(curve, k, x, y)))
                    .min_by(|a, b| a.1.total_cmp(&b.1))
                    .map_or(0, |(k, _)| k) as u32
            })
            .collect();
        Self {
            origin,
            cols,
            rows,
            segment,
        }
    }

    fn at(&self, x: f32, y: f32) -> usize {
        let c = (((x - self.origin[0]) / Self::CELL).max(0.0) as usize).min(self.cols - 1);
        let r = (((y - self.origin[1]) / Self::CELL).max(0.0) as usize).min(self.rows - 1);
        self.segment[r * self.cols + c] as usize
    }
}

fn segment_dist2(curve: &ArchCurve, k: usize, x: f32, y: f32) -> f32 {
    let (Some(a), Some(b)) = (curve.points.get(k), curve.points.get(k + 1)) else {
        return f32::INFINITY;
    };
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let len2 = (dx * dx + dy * dy).max(1e-12);
    let f = (((x - a[0]) * dx + (y - a[1]) * dy) / len2).clamp(0.0, 1.0);
    (x - a[0] - f * dx).powi(2) + (y - a[1] - f * dy).powi(2)
}

/// Angle of `(x, y)` measured from the back (−y) through −x, the front (+y, at π) and +x:
/// in `[0, 2π)`, the order of increasing arch length.
fn polar_from_back(x: f32, y: f32) -> f32 {
    let a = (-x).atan2(-y); // 0 at −y, π/2 at −x, ±π at +y
    if a < 0.0 {
        a + std::f32::consts::TAU
    } else {
        a
    }
}

/// Estimates the frame of an arch. `face_normals` and `face_areas` are the scan's;
/// `hint` is an occlusal direction stated by the case file, used for the sign only.
pub fn estimate(
    positions: &[[f32; 3]],
    triangles: &[[u32; 3]],
    face_normals: &[[f32; 3]],
    face_areas: &[f32],
) -> Option<ArchFrame> {
    if positions.len() < 16 {
        return None;
    }
    let mut u = occlusal_guess(positions, triangles, face_normals, face_areas)?;
    // The frame is a handful of directions and a curve: up to 100k vertices (an even
    // stride through the scan) fix them as well as all of them would.
    let stride = positions.len().div_ceil(100_000).max(1);
    let sample: Vec<[f32; 3]> = positions.iter().step_by(stride).copied().collect();
    let positions = &sample[..];
    let mut origin = centroid(positions);
    let mut rms = 0.0;
    for _ in 0..3 {
        let (n, o, r) = fit_tip_plane(positions, u, origin)?;
        (u, origin, rms) = (n, o, r);
    }
    let anterior = anterior_of(positions, u, origin)?;
    let lateral = anterior.cross(&u).normalize();
    let mut frame = ArchFrame {
        occlusal: [u.x, u.y, u.z],
        origin: [origin.x, origin.y, origin.z],
        anterior: [anterior.x, anterior.y, anterior.z],
        lateral: [lateral.x, lateral.y, lateral.z],
        curve: ArchCurve::through(Vec::new()),
        plane_rms_mm: rms,
    };
    frame.curve = fit_curve(&frame, positions)?;
    Some(frame)
}

fn centroid(positions: &[[f32; 3]]) -> V3 {
    let sum = crate::util::ordered_sum(
        positions.len(),
        Vector3::<f64>::zeros(),
        |a, b| a + b,
        |i| v3(positions[i]).map(|c| c as f64),
    );
    (sum / positions.len() as f64).map(|c| c as f32)
}

/// First guess of the occlusal direction. An open arch's vector area (Σ normal × area)
/// points where its surface faces: occlusally. A closed scan (a cast with a base, crowns
/// only) has none; then the thinnest axis, turned away from the flattest side (the base).
fn occlusal_guess(
    positions: &[[f32; 3]],
    triangles: &[[u32; 3]],
    normals: &[[f32; 3]],
    areas: &[f32],
) -> Option<V3> {
    let (vector, total) = crate::util::ordered_sum(
        normals.len().min(areas.len()),
        (V3::zeros(), 0.0),
        |x, y| (x.0 + y.0, x.1 + y.1),
        |i| (v3(normals[i]) * areas[i], areas[i]),
    );
    if total <= 0.0 {
        return None;
    }
    if vector.norm() > 0.15 * total {
        return Some(vector.normalize());
    }
    let c = centroid(positions);
    let cov = crate::util::ordered_sum(
        triangles.len().min(areas.len()),
        Matrix3::zeros(),
        |a, b| a + b,
        |i| {
            let t = triangles[i];
            let m = (v3(positions[t[0] as usize])
                + v3(positions[t[1] as usize])
                + v3(positions[t[2] as usize]))
                / 3.0
                - c;
            m * m.transpose() * areas[i]
        },
    );
    let eig = cov.symmetric_eigen();
    let axis: V3 = eig.eigenvectors.column(eig.eigenvalues.imin()).into();
    let cos15 = 15f32.to_radians().cos();
    let (up, down) = normals
        .iter()
        .zip(areas)
        .fold((0.0, 0.0), |(u, d), (n, a)| {
            let c = v3(*n).dot(&axis);
            (
                u + if c > cos15 { *a } else { 0.0 },
                d + if c < -cos15 { *a } else { 0.0 },
            )
        });
    Some(if down >= up { axis } else { -axis })
}

/// Fits the occlusal plane through the cusp tips: the highest vertex in each of 48 sectors
/// around `origin`, refitted once without the points farther than 1 mm (or twice the median
/// residual) from the plane. Returns the normal (oriented like `u`), a point and the RMS.
fn fit_tip_plane(positions: &[[f32; 3]], u: V3, origin: V3) -> Option<(V3, V3, f32)> {
    const SECTORS: usize = 48;
    let (e1, e2) = basis(u);
    // Per sector: the highest point (height, index) and the count, in parallel chunks.
    type Sectors = (Vec<Option<(f32, usize)>>, Vec<usize>);
    let empty = || -> Sectors { (vec![None; SECTORS], vec![0; SECTORS]) };
    let (top, counts) = positions
        .par_iter()
        .enumerate()
        .with_min_len(8192)
        .fold(empty, |(mut top, mut counts), (i, p)| {
            let d = v3(*p) - origin;
            let (x, y, h) = (d.dot(&e1), d.dot(&e2), d.dot(&u));
            let k = sector(x, y, SECTORS);
            counts[k] += 1;
            if top[k].is_none_or(|(best, _)| h > best) {
                top[k] = Some((h, i));
            }
            (top, counts)
        })
        .reduce(empty, |(mut ta, mut ca), (tb, cb)| {
            for k in 0..SECTORS {
                ca[k] += cb[k];
                if let Some((h, i)) = tb[k] {
                    if ta[k].is_none_or(|(best, j)| h > best || (h == best && i < j)) {
                        ta[k] = Some((h, i));
                    }
                }
            }
            (ta, ca)
        });
    let min_count = positions.len() / 2000 + 3;
    let mut tips: Vec<V3> = (0..SECTORS)
        .filter(|k| counts[*k] >= min_count)
        .filter_map(|k| top[k].map(|(_, i)| v3(positions[i])))
        .collect();
    let (mut n, mut c) = plane_fit(&tips)?;
    let residual = |p: &V3, n: &V3, c: &V3| (p - c).dot(n).abs();
    let mut rs: Vec<f32> = tips.iter().map(|p| residual(p, &n, &c)).collect();
    rs.sort_by(f32::total_cmp);
    let cut = (2.0 * rs[rs.len() / 2]).max(1.0);
    tips.retain(|p| residual(p, &n, &c) <= cut);
    if let Some((n2, c2)) = plane_fit(&tips) {
        (n, c) = (n2, c2);
    }
    if n.dot(&u) < 0.0 {
        n = -n;
    }
    let rms = (tips
        .iter()
        .map(|p| residual(p, &n, &c).powi(2))
        .sum::<f32>()
        / tips.len().max(1) as f32)
        .sqrt();
    let o = origin + n * (c - origin).dot(&n);
    Some((n, o, rms))
}

fn plane_fit(points: &[V3]) -> Option<(V3, V3)> {
    if points.len() < 3 {
        return None;
    }
    let c = points.iter().sum::<V3>() / points.len() as f32;
    let cov = points
        .iter()
        .map(|p| (p - c) * (p - c).transpose())
        .sum::<Matrix3<f32>>();
    let eig = cov.symmetric_eigen();
    Some((eig.eigenvectors.column(eig.eigenvalues.imin()).into(), c))
}

/// Two unit vectors spanning the plane normal to `u`.
fn basis(u: V3) -> (V3, V3) {
    let seed = if u.x.abs() < 0.9 { V3::x() } else { V3::y() };
    let e1 = u.cross(&seed).normalize();
    (e1, u.cross(&e1))
}

fn sector(x: f32, y: f32, sectors: usize) -> usize {
    let a = y.atan2(x) + std::f32::consts::PI;
    ((a / std::f32::consts::TAU * sectors as f32) as usize).min(sectors - 1)
}

/// The anterior direction. Seen from its centre, an arch's crowns (the top 4 mm) fill every
/// direction but the open back: the front is opposite the widest empty run of a 1° angular
/// histogram, then refined to the axis about which the histogram is most nearly mirror
/// symmetric (within ±25°). Without an empty run of at least 10° (no open back) the crowns
/// surround their centre: that is no arch, and there is no anterior direction.
fn anterior_of(positions: &[[f32; 3]], u: V3, origin: V3) -> Option<V3> {
    const BINS: usize = 360;
    let (e1, e2) = basis(u);
    let mut hist = vec![0u32; BINS];
    for p in positions {
        let d = v3(*p) - origin;
        if d.dot(&u) <= -4.0 {
            continue;
        }
        let (x, y) = (d.dot(&e1), d.dot(&e2));
        if x.hypot(y) < 1e-6 {
            continue;
        }
        hist[sector(x, y, BINS)] += 1;
    }
    let total: u32 = hist.iter().sum();
    if total == 0 {
        return None;
    }
    let floor = total / 20_000;
    let empty: Vec<bool> = hist.iter().map(|c| *c <= floor).collect();
    // Widest circular run of empty bins.
    let mut best = (0usize, 0usize); // (length, start)
    if let Some(first_full) = empty.iter().position(|e| !e) {
        let mut run = 0usize;
        for k in 1..=BINS {
            let i = (first_full + k) % BINS;
            if empty[i] {
                run += 1;
                if run > best.0 {
                    best = (run, (i + BINS + 1 - run) % BINS);
                }
            } else {
                run = 0;
            }
        }
    }
    if best.0 < 10 {
        return None;
    }
    let back = (best.1 as f32 + best.0 as f32 / 2.0) % BINS as f32;
    let front = (back + BINS as f32 / 2.0) % BINS as f32;
    let axis = symmetry_axis(&hist, front, 25);
    // `sector` measures angles from −x (atan2 + π): bin k is at angle (k + 0.5)° − 180°.
    let angle = ((axis + 0.5) / BINS as f32) * std::f32::consts::TAU - std::f32::consts::PI;
    Some((e1 * angle.cos() + e2 * angle.sin()).normalize())
}

/// The bin within `±reach` bins of `guess` about which `hist` best overlaps its mirror
/// image (the sum over k of min(hist[a + k], hist[a − k])).
fn symmetry_axis(hist: &[u32], guess: f32, reach: i32) -> f32 {
    let n = hist.len() as i32;
    let at = |i: i32| hist[i.rem_euclid(n) as usize] as u64;
    let score = |a: i32| -> u64 { (1..n / 2).map(|k| at(a + k).min(at(a - k))).sum() };
    let g = guess.round() as i32;
    (g - reach..=g + reach)
        .max_by_key(|a| score(*a))
        .map_or(guess, |a| a.rem_euclid(n) as f32)
}

/// The arch curve: the mean plane position of the crown vertices (the top 4 mm) in each 4°
/// sector around the origin, ordered from one end of the arch round the front to the other,
/// smoothed, and extended 15 mm straight beyond both ends.
fn fit_curve(frame: &ArchFrame, positions: &[[f32; 3]]) -> Option<ArchCurve> {
    const SECTORS: usize = 90;
    let mut sums = vec![(0.0f64, 0.0f64, 0usize); SECTORS];
    for p in positions {
        let [x, y, h] = frame.plane_coords(*p);
        if h > -4.0 {
            let k = ((polar_from_back(x, y) / std::f32::consts::TAU * SECTORS as f32) as usize)
                .min(SECTORS - 1);
            sums[k].0 += x as f64;
            sums[k].1 += y as f64;
            sums[k].2 += 1;
        }
    }
    let min_count = positions.len() / 5000 + 3;
    let occupied: Vec<usize> = (0..SECTORS).filter(|k| sums[*k].2 >= min_count).collect();
    // Start after the widest empty run of sectors: the open back of the arch, wherever the
    // anterior estimate put it.
    let start = (0..occupied.len())
        .max_by_key(|&i| {
            let next = occupied[(i + 1) % occupied.len()];
            (next + SECTORS - occupied[i] - 1) % SECTORS
        })
        .map_or(0, |i| (i + 1) % occupied.len().max(1));
    let mut points: Vec<[f32; 2]> = (0..occupied.len())
        .map(|i| sums[occupied[(start + i) % occupied.len()]])
        .map(|s| [(s.0 / s.2 as f64) as f32, (s.1 / s.2 as f64) as f32])
        .collect();
    if points.len() < 4 {
        return None;
    }
    for _ in 0..2 {
        let copy = points.clone();
        for i in 1..points.len() - 1 {
            for c in 0..2 {
                points[i][c] = (copy[i - 1][c] + copy[i][c] + copy[i + 1][c]) / 3.0;
            }
        }
    }
    let extend = |a: [f32; 2], b: [f32; 2]| {
        let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
        let len = dx.hypot(dy).max(1e-6);
        [b[0] + dx / len * 15.0, b[1] + dy / len * 15.0]
    };
    let n = points.len();
    let head = extend(points[1], points[0]);
    let tail = extend(points[n - 2], points[n - 1]);
    points.insert(0, head);
    points.push(tail);
    Some(ArchCurve::through(points))
}

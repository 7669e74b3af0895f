//! Reading one section profile: where it kinks convexly (the finish line is the lowest
//! crisp convex kink: the ledge or chamfer turning down onto the root), how sharp the kink
//! is, and where exactly the two surfaces that meet there would intersect.

use crate::section::Chain;

/// Resampling step along a profile, mm.
const STEP: f32 = 0.02;

/// Length of profile each side of a kink that the corner fit uses, mm: short enough that a
/// concave chamfer still reads as its slope at the line, long enough to span ~2 edges of a
/// fine scan.
const FIT_MM: f32 = 0.3;

/// A profile resampled at [`STEP`] along its arc, with the nearest vertex per sample.
pub struct Profile {
    /// Samples `(rho, z)`.
    pub points: Vec<[f32; 2]>,
    /// Nearest mesh vertex per sample.
    pub vertices: Vec<u32>,
}

/// A convex kink found in a profile.
#[derive(Debug, Clone, Copy)]
pub struct Kink {
    /// Where the two fitted surfaces meet, `(rho, z)`.
    pub at: [f32; 2],
    /// Turning over the wide scale, degrees.
    pub wide_deg: f32,
    /// Turning over the fine scale, degrees.
    pub fine_deg: f32,
    /// Angle between the two fitted lines, degrees.
    pub fitted_deg: f32,
    /// How steeply the surface beyond the kink descends outward, degrees (negative where it
    /// rises, as gingiva abutting a finish line does).
    pub outer_descent_deg: f32,
    /// How steeply the surface before the kink descends outward onto it, degrees (a
    /// preparation's wall or chamfer falling onto its line; negative where the surface
    /// rises toward the kink, as gingiva does toward a neighbouring tooth's wall).
    pub inner_descent_deg: f32,
    /// Nearest mesh vertex.
    pub vertex: u32,
}

impl Kink {
    /// A crisp finish line: the surfaces meet at a clear angle, and the turn happens within
    /// the fine scale rather than spread over a rounded edge.
    pub fn crisp(&self, min_deg: f32, min_ratio: f32) -> bool {
        self.fitted_deg >= min_deg && self.fine_deg >= min_ratio * self.wide_deg
    }
}

impl Profile {
    /// Resamples a chain.
    pub fn new(chain: &Chain) -> Self {
        let mut points = Vec::new();
        let mut vertices = Vec::new();
        let mut carry = 0.0f32;
        for i in 0..chain.points.len().saturating_sub(1) {
            let (a, b) = (chain.points[i], chain.points[i + 1]);
            let len = ((b[0] - a[0]).powi(2) + (b[1] - a[1]).powi(2)).sqrt();
            let mut s = carry;
            while s < len {
                let w = s / len;
                points.push([a[0] + w * (b[0] - a[0]), a[1] + w * (b[1] - a[1])]);
                vertices.push(if w < 0.5 {
                    chain.vertices[i]
                } else {
                    chain.vertices[i + 1]
                });
                s += STEP;
            }
            carry = s - len;
        }
        Self { points, vertices }
    }

    /// Signed turning at sample `i` over `scale` mm each side, degrees: positive where the
    /// profile bends convexly (outward and down).
    pub fn turning(&self, i: usize, scale: f32) -> Option<f32> {
        let k = (scale / STEP).round() as usize;
        if i < k || i + k >= self.points.len() {
            return None;
        }
        let (a, b, c) = (self.points[i - k], self.points[i], self.points[i + k]);
        let d1 = [b[0] - a[0], b[1] - a[1]];
        let d2 = [c[0] - b[0], c[1] - b[1]];
        let cross = d1[0] * d2[1] - d1[1] * d2[0];
        let dot = d1[0] * d2[0] + d1[1] * d2[1];
        Some(-cross.atan2(dot).to_degrees())
    }

    /// Convex kinks: local maxima of the wide-scale turning of at least `min_deg`.
    pub fn kinks(&self, wide: f32, fine: f32, min_deg: f32) -> Vec<Kink> {
        self.signed_kinks(wide, fine, min_deg, 1.0)
    }

    /// Concave kinks (the profile bending up and outward, as where a preparation's wall
    /// meets the gingiva), found and measured as [`Profile::kinks`] finds convex ones.
    pub fn concave_kinks(&self, wide: f32, fine: f32, min_deg: f32) -> Vec<Kink> {
        self.signed_kinks(wide, fine, min_deg, -1.0)
    }

    fn signed_kinks(&self, wide: f32, fine: f32, min_deg: f32, sign: f32) -> Vec<Kink> {
        let turning = |i: usize, scale: f32| sign * self.turning(i, scale).unwrap_or(0.0);
        let turn: Vec<f32> = (0..self.points.len()).map(|i| turning(i, wide)).collect();
        let k = (wide / STEP).round() as usize;
        let mut out = Vec::new();
        let mut i = 0;
        while i < turn.len() {
            let lo = i.saturating_sub(k);
            let hi = (i + k + 1).min(turn.len());
            let is_max = turn[i] >= min_deg && turn[lo..hi].iter().all(|&t| t <= turn[i]);
            if is_max {
                // The kink's own point: where the fine-scale turning peaks near the maximum.
                let j = (lo..hi)
                    .max_by(|&a, &b| turning(a, fine).total_cmp(&turning(b, fine)))
                    .unwrap_or(i);
                out.push(self.measure_kink(j, turn[i], turning(j, fine)));
                i = hi;
            } else {
                i += 1;
            }
        }
        out
    }

    /// The kink at sample `j` as measured there, concave (`sign` −1) or convex (+1), over
    /// the `wide` and `fine` scales: for a point already known (the line's reference) where
    /// a stronger kink close by hid it from [`Profile::kinks`].
    pub fn kink_at(&self, j: usize, wide: f32, fine: f32, sign: f32) -> Kink {
        let turning = |scale: f32| sign * self.turning(j, scale).unwrap_or(0.0);
        self.measure_kink(j, turning(wide), turning(fine))
    }

    fn measure_kink(&self, j: usize, wide_deg: f32, fine_deg: f32) -> Kink {
        let (at, fitted, [inner_descent, descent]) = self.fit_corner(j, FIT_MM);
        Kink {
            at,
            wide_deg,
            fine_deg,
            fitted_deg: fitted,
            outer_descent_deg: descent,
            inner_descent_deg: inner_descent,
            vertex: self.vertices[j],
        }
    }

    /// Fits a line to each side of sample `j` (leaving a small gap at the corner) and
    /// returns where they meet (the corner, when it is near `j`), the angle between them and
    /// how steeply each side descends outward (before the kink, beyond it).
    fn fit_corner(&self, j: usize, wide: f32) -> ([f32; 2], f32, [f32; 2]) {
        let k = |mm: f32| (mm / STEP).round() as usize;
        let gap = k(0.06);
        let inner = &self.points[j.saturating_sub(k(wide))..j.saturating_sub(gap)];
        let outer_end = (j + k(wide)).min(self.points.len());
        let outer = &self.points[(j + gap).min(outer_end)..outer_end];
        let here = self.points[j];
        let (Some(a), Some(b)) = (Line::fit(inner), Line::fit(outer)) else {
            return (here, 0.0, [0.0; 2]);
        };
        let angle = a.angle_to(&b);
        // The fitted direction points outward (its rho component is never negative). Before
        // the kink the profile may run straight down a wall (rho hardly changing), so that
        // side's descent follows the profile's own run toward the kink.
        let descent_of = |d: [f32; 2]| -d[1].atan2(d[0]).to_degrees();
        let run = match (inner.first(), inner.last()) {
            (Some(p), Some(q)) => [q[0] - p[0], q[1] - p[1]],
            _ => a.dir,
        };
        let descent = [descent_of(run), descent_of(b.dir)];
        match a.meet(&b) {
            Some(p) if (p[0] - here[0]).hypot(p[1] - here[1]) <= 0.25 => (p, angle, descent),
            _ => (here, angle, descent),
        }
    }

    /// The depth of the deepest notch in the profile over the last `span` mm before the
    /// line at `at` (stopping 0.05 mm short of it): a low point with the profile higher on
    /// both sides, mm. A chamfer or a shoulder runs to the line without one, however the
    /// axis is tilted (a tilt only makes it climb or descend throughout); tissue lying over
    /// the line leaves a notch between the ledge and its hump. `None` without profile there.
    pub fn notch_inside(&self, at: [f32; 2], span: f32) -> Option<f32> {
        // Not `at` itself: two fitted lines meet above a convex corner's surface.
        let z: Vec<f32> = self
            .points
            .iter()
            .filter(|p| (p[1] - at[1]).abs() < 1.5 && (at[0] - span..at[0] - 0.05).contains(&p[0]))
            .map(|p| p[1])
            .collect();
        if z.len() < 3 {
            return None;
        }
        let mut left = z.clone();
        for i in 1..z.len() {
            left[i] = left[i - 1].max(z[i]);
        }
        let mut right = z.clone();
        for i in (0..z.len() - 1).rev() {
            right[i] = right[i + 1].max(z[i]);
        }
        (0..z.len())
            .map(|j| (left[j] - z[j]).min(right[j] - z[j]))
            .max_by(f32::total_cmp)
    }

    /// The highest `z` of the profile between `rho0` and `rho1`.
    pub fn max_z_between(&self, rho0: f32, rho1: f32) -> Option<f32> {
        self.points
            .iter()
            .filter(|p| (rho0..=rho1).contains(&p[0]))
            .map(|p| p[1])
            .max_by(f32::total_cmp)
    }
}

/// A line through `point` along unit `dir`.
struct Line {
    point: [f32; 2],
    dir: [f32; 2],
}

impl Line {
    /// Total-least-squares fit; `None` for fewer than 3 points.
    fn fit(points: &[[f32; 2]]) -> Option<Self> {
        if points.len() < 3 {
            return None;
        }
        let n = points.len() as f32;
        let m = points
            .iter()
            .fold([0.0f32; 2], |a, p| [a[0] + p[0] / n, a[1] + p[1] / n]);
        let (mut sxx, mut sxy, mut syy) = (0.0f32, 0.0f32, 0.0f32);
        for p in points {
            let (x, y) = (p[0] - m[0], p[1] - m[1]);
            sxx += x * x;
            sxy += x * y;
            syy += y * y;
        }
        let theta = 0.5 * (2.0 * sxy).atan2(sxx - syy);
        Some(Self {
            point: m,
            dir: [theta.cos(), theta.sin()],
        })
    }

    fn angle_to(&self, other: &Line) -> f32 {
        let c = (self.dir[0] * other.dir[0] + self.dir[1] * other.dir[1]).abs();
        c.min(1.0).acos().to_degrees()
    }

    fn meet(&self, other: &Line) -> Option<[f32; 2]> {
        let det = self.dir[0] * other.dir[1] - self.dir[1] * other.dir[0];
        if det.abs() < 0.05 {
            return None;
        }
        let d = [
            other.point[0] - self.point[0],
            other.point[1] - self.point[1],
        ];
        let t = (d[0] * other.dir[1] - d[1] * other.dir[0]) / det;
        Some([
            self.point[0] + t * self.dir[0],
            self.point[1] + t * self.dir[1],
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A section beside a neighbouring crown: a 45° chamfer falling onto the line at rho 3,
    /// a flat collar, and the neighbour's wall rising at 75° from rho 3.45.
    fn chamfer_collar_wall() -> Profile {
        let mut points = Vec::new();
        let mut rho = 2.0f32;
        while rho <= 4.0 {
            let z = if rho < 3.0 {
                3.0 - rho
            } else if rho < 3.45 {
                0.0
            } else {
                (rho - 3.45) * 75f32.to_radians().tan()
            };
            points.push([rho, z]);
            rho += 0.01;
        }
        let vertices = (0..points.len() as u32).collect();
        Profile::new(&Chain { points, vertices })
    }

    #[test]
    fn a_kink_hidden_by_a_stronger_one_close_by_is_measured_where_asked() {
        let p = chamfer_collar_wall();
        let found = p.concave_kinks(0.4, 0.15, 20.0);
        assert!(
            found.iter().all(|k| (k.at[0] - 3.0).abs() > 0.2),
            "the search sees only the wall's foot: {found:?}"
        );
        let at_line = p
            .points
            .iter()
            .position(|q| q[0] >= 3.0)
            .expect("a sample at the line");
        let k = p.kink_at(at_line, 0.4, 0.15, -1.0);
        assert!((k.at[0] - 3.0).abs() < 0.05 && k.fitted_deg > 35.0, "{k:?}");
        assert!(
            k.inner_descent_deg > 35.0,
            "the chamfer falls onto the line: {k:?}"
        );
    }

    #[test]
    fn the_foot_of_a_wall_reads_as_rising_on_both_sides() {
        let p = chamfer_collar_wall();
        let wall = p
            .concave_kinks(0.4, 0.15, 20.0)
            .into_iter()
            .find(|k| (k.at[0] - 3.45).abs() < 0.1)
            .expect("the wall's foot");
        assert!(wall.outer_descent_deg < -60.0, "{wall:?}");
        assert!(wall.inner_descent_deg.abs() < 10.0, "{wall:?}");
    }
}

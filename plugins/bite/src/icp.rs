//! Rigid registration of an arch to a bite record: point-to-plane ICP on the host's
//! closest-point queries, with nalgebra for the 6×6 solve.
//!
//! The record and the arch start in the frame the scanner exported them in, so the search
//! begins where they are and only corrects: correspondences are trimmed to 2, 1, 0.5 and then
//! 0.25 mm as the fit tightens. A pair counts only when the normals agree: a digital buccal
//! bite is a positive surface (normals alike), a wax record a negative one (normals opposed);
//! which one the record is, is decided per arch by the majority of close pairs at the start,
//! so no case field is needed and a record scanned inside out still registers.

use nalgebra::{Isometry3, Matrix6, Point3, Translation3, UnitQuaternion, Vector3, Vector6};
use rayon::prelude::*;

/// A point of the moving surface, with its unit normal.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Position, mm.
    pub point: [f32; 3],
    /// Unit normal.
    pub normal: [f32; 3],
}

/// The closest point of the fixed surface within a distance, with the unit normal there.
pub trait Target: Sync {
    /// The closest surface point to `p` within `max` mm, and its normal.
    fn closest(&self, p: [f32; 3], max: f32) -> Option<([f32; 3], [f32; 3])>;
}

/// What the registration found.
#[derive(Debug, Clone)]
pub struct Fit {
    /// Moves the samples onto the target.
    pub transform: Isometry3<f64>,
    /// RMS point-to-plane distance of the final pairs, mm.
    pub rms_mm: f64,
    /// Pairs in the final, tightest stage.
    pub pairs: usize,
    /// The last update moved no sample more than 5 µm.
    pub converged: bool,
    /// Smallest over largest eigenvalue of the normal equations (rotation scaled by the
    /// samples' radius): near 0 when the record leaves a motion unconstrained.
    pub conditioning: f64,
    /// +1 when the target faces the same way as the samples (a positive record), −1 when
    /// it faces the other way (a negative one), 0 when no close pair was found.
    pub orientation: i8,
}

/// Pair distance limits of the stages, mm.
const STAGES: [f64; 4] = [2.0, 1.0, 0.5, 0.25];
/// Iterations per stage at most.
const ITERATIONS: usize = 20;
/// A fit has converged when an update moves no sample farther than this, mm: far below the
/// decisions made on it (0.15 mm), and above the few-µm cycles that a pair entering and
/// leaving the trimmed set can cause.
const CONVERGED_MM: f64 = 0.005;
/// Normals must agree to within ~53° (|cos| ≥ 0.6).
const NORMAL_AGREEMENT: f64 = 0.6;

/// Registers `samples` onto `target`, starting from `start`.
pub fn register(samples: &[Sample], target: &dyn Target, start: Isometry3<f64>) -> Fit {
    // Only samples near the record can pair: the rest need not be queried again.
    let samples: Vec<Sample> = samples
        .par_iter()
        .filter(|s| {
            let (p, _) = moved(&start, s);
            target.closest(to32(&p), STAGES[0] as f32 + 0.25).is_some()
        })
        .copied()
        .collect();
    let samples = &samples[..];
    let orientation = orientation(samples, target, &start);
    let mut transform = start;
    let mut fit = Fit {
        transform,
        rms_mm: f64::INFINITY,
        pairs: 0,
        converged: false,
        conditioning: 0.0,
        orientation,
    };
    if orientation == 0 {
        return fit;
    }
    for (stage, &limit) in STAGES.iter().enumerate() {
        let last = stage + 1 == STAGES.len();
        for _ in 0..ITERATIONS {
            let pairs = pairs(samples, target, &transform, limit, orientation);
            let Some(step) = solve(&pairs) else {
                return fit;
            };
            transform = step.update * transform;
            fit.transform = transform;
            fit.pairs = pairs.len();
            fit.rms_mm = step.rms;
            fit.conditioning = step.conditioning;
            let moved = step.max_motion(samples, &transform);
            if moved < CONVERGED_MM {
                fit.converged = last;
                break;
            }
        }
    }
    fit
}

/// One correspondence: the moved sample, the target point and the target's normal.
struct Pair {
    p: Vector3<f64>,
    q: Vector3<f64>,
    n: Vector3<f64>,
}

fn v64(a: [f32; 3]) -> Vector3<f64> {
    Vector3::new(f64::from(a[0]), f64::from(a[1]), f64::from(a[2]))
}

fn moved(transform: &Isometry3<f64>, s: &Sample) -> (Vector3<f64>, Vector3<f64>) {
    (
        (transform * Point3::from(v64(s.point))).coords,
        transform.rotation * v64(s.normal),
    )
}

/// Whether the target faces like the samples (+1) or against them (−1), by the majority of
/// pairs within 1 mm whose normals are parallel either way.
fn orientation(samples: &[Sample], target: &dyn Target, start: &Isometry3<f64>) -> i8 {
    let (alike, opposed) = samples
        .par_iter()
        .filter_map(|s| {
            let (p, n) = moved(start, s);
            let (_, m) = target.closest(to32(&p), 1.0)?;
            let c = n.dot(&v64(m));
            Some((
                usize::from(c >= NORMAL_AGREEMENT),
                usize::from(c <= -NORMAL_AGREEMENT),
            ))
        })
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    match (alike, opposed) {
        (0, 0) => 0,
        (a, o) if a >= o => 1,
        _ => -1,
    }
}

fn to32(v: &Vector3<f64>) -> [f32; 3] {
    [v.x as f32, v.y as f32, v.z as f32]
}

fn pairs(
    samples: &[Sample],
    target: &dyn Target,
    transform: &Isometry3<f64>,
    limit: f64,
    orientation: i8,
) -> Vec<Pair> {
    samples
        .par_iter()
        .filter_map(|s| {
            let (p, n) = moved(transform, s);
            let (q, m) = target.closest(to32(&p), limit as f32)?;
            let m = v64(m);
            (n.dot(&m) * f64::from(orientation) >= NORMAL_AGREEMENT).then(|| Pair {
                p,
                q: v64(q),
                n: m,
            })
        })
        .collect()
}

/// One Gauss–Newton step of the point-to-plane objective.
struct Step {
    update: Isometry3<f64>,
    rms: f64,
    conditioning: f64,
}

impl Step {
    /// The largest distance a sample moved in this step.
    fn max_motion(&self, samples: &[Sample], after: &Isometry3<f64>) -> f64 {
        let before = self.update.inverse() * after;
        samples
            .iter()
            .step_by(16)
            .map(|s| {
                let p = Point3::from(v64(s.point));
                (after * p - before * p).norm()
            })
            .fold(0.0, f64::max)
    }
}

/// The small rotation about the pairs' centroid and the shift that minimise the squared
/// point-to-plane distances; `None` with fewer than 12 pairs.
fn solve(pairs: &[Pair]) -> Option<Step> {
    if pairs.len() < 12 {
        return None;
    }
    let centroid = pairs.iter().map(|p| p.p).sum::<Vector3<f64>>() / pairs.len() as f64;
    let radius = (pairs
        .iter()
        .map(|p| (p.p - centroid).norm_squared())
        .sum::<f64>()
        / pairs.len() as f64)
        .sqrt()
        .max(1e-6);
    let mut a = Matrix6::<f64>::zeros();
    let mut b = Vector6::<f64>::zeros();
    let mut sum2 = 0.0;
    for pair in pairs {
        let r = (pair.p - pair.q).dot(&pair.n);
        let arm = (pair.p - centroid).cross(&pair.n);
        let j = Vector6::new(arm.x, arm.y, arm.z, pair.n.x, pair.n.y, pair.n.z);
        a += j * j.transpose();
        b -= j * r;
        sum2 += r * r;
    }
    let x = a.cholesky()?.solve(&b);
    let scale = Vector6::new(radius, radius, radius, 1.0, 1.0, 1.0);
    let scaled = Matrix6::from_fn(|i, k| a[(i, k)] / (scale[i] * scale[k]));
    let eig = scaled.symmetric_eigenvalues();
    let conditioning = eig.min() / eig.max().max(f64::MIN_POSITIVE);
    let rotation = UnitQuaternion::from_scaled_axis(Vector3::new(x[0], x[1], x[2]));
    let about = Translation3::from(centroid) * rotation * Translation3::from(-centroid);
    let update = Translation3::new(x[3], x[4], x[5]) * about;
    Some(Step {
        update,
        rms: (sum2 / pairs.len() as f64).sqrt(),
        conditioning,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A wavy sheet `z = f(x, y)`, answering closest-point queries by brute force.
    struct Sheet(Vec<([f32; 3], [f32; 3])>);

    fn wavy(x: f32, y: f32) -> f32 {
        (x * 0.5).sin() * 1.5 + (y * 0.4).cos() * 1.2 + 0.02 * x * y
    }

    fn sheet() -> Sheet {
        let mut pts = Vec::new();
        for i in -40..=40 {
            for j in -40..=40 {
                let (x, y) = (i as f32 * 0.25, j as f32 * 0.25);
                let e = 1e-3;
                let (dx, dy) = (
                    (wavy(x + e, y) - wavy(x - e, y)) / (2.0 * e),
                    (wavy(x, y + e) - wavy(x, y - e)) / (2.0 * e),
                );
                let n = Vector3::new(-dx, -dy, 1.0).normalize();
                pts.push(([x, y, wavy(x, y)], [n.x, n.y, n.z]));
            }
        }
        Sheet(pts)
    }

    impl Target for Sheet {
        fn closest(&self, p: [f32; 3], max: f32) -> Option<([f32; 3], [f32; 3])> {
            let d2 = |q: &[f32; 3]| (0..3).map(|k| (q[k] - p[k]).powi(2)).sum::<f32>();
            let best = self.0.iter().min_by(|a, b| d2(&a.0).total_cmp(&d2(&b.0)))?;
            (d2(&best.0) <= max * max).then_some(*best)
        }
    }

    #[test]
    fn recovers_a_small_rigid_offset_and_the_records_orientation() {
        let target = sheet();
        let truth = Isometry3::new(
            Vector3::new(0.3, -0.2, 0.15),
            Vector3::new(0.01, -0.02, 0.015),
        );
        let inverse = truth.inverse();
        for sign in [1.0f32, -1.0] {
            let samples: Vec<Sample> = target
                .0
                .iter()
                .step_by(5)
                .filter(|(p, _)| p[0].abs() < 9.0 && p[1].abs() < 9.0)
                .map(|(p, n)| {
                    let q = inverse * Point3::from(v64(*p));
                    let m = inverse.rotation * v64(*n);
                    Sample {
                        point: to32(&q.coords),
                        normal: to32(&(m * f64::from(sign))),
                    }
                })
                .collect();
            let fit = register(&samples, &target, Isometry3::identity());
            assert_eq!(fit.orientation, if sign > 0.0 { 1 } else { -1 });
            let error = samples
                .iter()
                .map(|s| {
                    let p = Point3::from(v64(s.point));
                    (fit.transform * p - truth * p).norm()
                })
                .fold(0.0, f64::max);
            assert!(error < 0.05, "error {error} mm");
            assert!(fit.converged && fit.rms_mm < 0.05, "{fit:?}");
        }
    }
}

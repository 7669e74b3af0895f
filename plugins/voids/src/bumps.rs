//! Voids (pits) and nodules (bumps): small, roughly round departures from the locally smooth
//! surface.
//!
//! 1. **Candidates.** Each vertex's height above a smoothed copy of the scan (one-ring
//!    averaging, enough rounds to flatten features up to ~2 mm), along its normal; the noise
//!    level is the robust spread (MAD) of those heights. Vertices beyond 4 noise levels seed
//!    regions that grow over same-signed neighbours beyond 1.5. Pits on the gingiva beside a
//!    crease, where the height falls steeply towards the crease and a bubble has no extreme
//!    of its own, get a second look: see [`flank_pits`].
//! 2. **Measurement.** Around each region, a quadric fitted to the ring of surface just
//!    outside it is the surface as it should be; heights above it give the depth (or height),
//!    the volume, the centre (height-weighted, on the quadric), and the diameter from the
//!    heights' second moment about the centre, for the profile that fits: a spherical cap
//!    (sharp rim: an air bubble) or a cosine (blurred: fluid).
//! 3. **Anatomy is not a void.** Fissures, grooves, the gingival crease and embrasures are
//!    long: a region whose footprint is more than 2.5 times longer than wide is left alone;
//!    so are regions wider than `max_diameter`. The pockets between a crown and a papilla are
//!    round enough, but the surface around them explains them: their depth below the fitted
//!    surround is a fraction of their depth below the smoothed copy, and their profile does not
//!    fit a bubble's. A bubble's depth is at least its depth below the smoothed copy (which
//!    follows it part of the way); its profile may fit less well on a coarse scan, where a
//!    steep wall has few vertices.
//! 4. **Rough ground.** On a crown carrying fine relief (supplemental grooves, perikymata)
//!    its own bumps and dips are round and sharp too; a bubble is at least three times as
//!    deep as the robust spread of the heights around it (within 2.5 mm, outside its body).

use crate::geometry::{dist, dot, sub};
use crate::policy::Policy;
use imprint_core::finding::{Finding, FindingKind};
use imprint_core::plugin::sdk::ScanRef;
use nalgebra::{Matrix2, Vector3};
use rayon::prelude::*;

/// Detection settings.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Smallest depth (or height) reported, mm (raised to 4 noise levels when noisier).
    pub min_depth: f32,
    /// Smallest diameter reported, mm (raised to 3 edge lengths on coarse scans).
    pub min_diameter: f32,
    /// Largest diameter treated as a bubble, mm.
    pub max_diameter: f32,
}

/// A measured pit or bump.
#[derive(Debug, Clone)]
pub struct Bump {
    pub pit: bool,
    pub centre: [f32; 3],
    pub diameter: f32,
    pub depth: f32,
    pub volume: f32,
    pub sharp: bool,
    pub vertices: Vec<u32>,
    /// RMS residual of the quadric over the surrounding ring, mm.
    pub ring_rms: f32,
    /// Minor over major axis of the footprint (1 = round).
    pub roundness: f32,
    /// RMS residual of the radial profile fit out to 1.25 radii, relative to the depth.
    pub profile_misfit: f32,
    /// Depth below the fitted surround over the peak's depth below the smoothed copy.
    pub surround_share: f32,
}

/// The smoothed copy's scale, mm: as many rounds as flatten features this wide, at any
/// resolution (the rounds grow with the square of the scale over the edge; past 16 they are
/// summed in ~3.5·√rounds, see `ScanRef::smoothed`). Capped at 8 rounds, as it once was, the
/// scale shrank to ~0.5 mm at 1M triangles, where the molars' central fossae stand out as
/// round pits: 69 false voids on 55 held-out arches at 1M and 1.4 per clean arch, and 46
/// false voids and 73 false nodules from the fine relief of `eval/detail.toml` (3 and 4 at
/// the full scale). The fuller scale also costs bubbles the smaller one found at 400k
/// (held-out 41 → 32 of 61), as it does at 120k.
const ROUNDS_SCALE: f32 = 1.3;

pub fn find(scan: &ScanRef<'_, '_>, settings: &Settings) -> (Vec<Bump>, f32) {
    let p = scan.positions();
    let normals = scan.vertex_normals();
    if p.len() < 50 || normals.len() != p.len() {
        return (Vec::new(), 0.0);
    }
    let edge = scan.mean_edge();
    let rounds = ((ROUNDS_SCALE / edge.max(0.02)).powi(2) / 2.0)
        .round()
        .max(2.0) as usize;
    let reference = scan.smoothed(rounds);
    let boundary = scan.on_boundary();
    let height: Vec<f32> = (0..p.len())
        .into_par_iter()
        .map(|v| {
            if boundary.get(v).copied().unwrap_or(false) {
                0.0
            } else {
                dot(sub(p[v], reference[v]), normals[v])
            }
        })
        .collect();
    let noise = robust_spread(&height);
    let seed = settings.min_depth.max(4.0 * noise);
    let reach = 0.5 * settings.max_diameter + edge;
    let mut candidates: Vec<Candidate> = regions_at_peaks(scan, &height, seed, 1.5 * noise, reach)
        .into_iter()
        .map(|region| Candidate {
            peak: height[region[0] as usize].abs(),
            seed,
            flank: false,
            region,
        })
        .collect();
    candidates.extend(flank_pits(scan, &height, settings.min_depth, (edge, reach)));
    let min_diameter = settings.min_diameter.max(3.0 * edge);
    let measured: Vec<Bump> = candidates
        .par_iter()
        .filter(|c| within(scan, &c.region, 0.9 * reach))
        .filter_map(|c| measure(scan, &c.region, edge, c.peak).map(|b| (b, c)))
        // A flank candidate is a pit or nothing: the crease beside it is no bump.
        .filter(|(b, c)| !c.flank || b.pit)
        .filter(|(b, c)| {
            let seed = c.seed;
            b.depth >= seed
                && b.diameter >= 0.85 * min_diameter
                && b.diameter <= settings.max_diameter
                // A bubble is at most a hemisphere: deeper than wide is an embrasure or groove.
                && b.depth <= 0.6 * b.diameter
                // The surface around a bubble is smooth; around anatomy it is not.
                // ... and a bubble stands out of its surround's roughness.
                && b.ring_rms <= (3.0 * noise).max(0.25 * b.depth)
                && b.ring_rms <= 0.25 * b.depth
                && b.roundness >= 0.5
                // A bubble has a bubble's profile (a cap or a cosine about its centre); the
                // pockets of gingiva between crowns and papillae do not, and their surround
                // explains most of their depth. A round nodule the surround does not explain
                // may fit less well (few vertices on a steep wall of a coarse scan); a pit
                // may not: on evenly sampled walls, the pockets where a crown's foot meets
                // the papillae are round and unexplained too, and fit just as loosely.
                && (b.profile_misfit <= 0.18
                    || (!b.pit
                        && b.profile_misfit <= 0.25
                        && b.surround_share >= 0.9
                        && b.roundness >= 0.7))
        })
        .map(|(b, _)| b)
        // A bubble stands out of the roughness of the surface around it; the bumps and dips
        // of fine anatomy (supplemental grooves, perikymata) are as deep as that roughness.
        .filter(|b| b.depth >= ROUGHNESS_SEEDS * roughness_around(scan, &height, b))
        .collect();
    (distinct(measured), noise)
}

/// A region that may be a pit or a bump: its peak height, the seed it had to pass, and
/// whether it came from the flank search ([`flank_pits`]).
struct Candidate {
    region: Vec<u32>,
    peak: f32,
    seed: f32,
    flank: bool,
}

/// The robust spread of `height` within [`ROUGHNESS_MM`] of a bump's centre, outside its own
/// body: the roughness of the surface it stands on (fine anatomy, the scanner's noise).
fn roughness_around(scan: &ScanRef<'_, '_>, height: &[f32], b: &Bump) -> f32 {
    let Some(&start) = b.vertices.first() else {
        return 0.0;
    };
    let body: std::collections::HashSet<u32> = b.vertices.iter().copied().collect();
    let radius = ROUGHNESS_MM.max(b.diameter);
    let values: Vec<f32> = nearby(scan, &[start], b.centre, radius)
        .into_iter()
        .filter(|v| {
            !body.contains(v) && dist(scan.positions()[*v as usize], b.centre) > 0.6 * b.diameter
        })
        .map(|v| height[v as usize])
        .collect();
    robust_spread(&values)
}

/// The radius over which a bump's surround is judged for roughness, mm.
const ROUGHNESS_MM: f32 = 2.5;
/// A bump is at least this many times as deep (or high) as its surround's roughness. Over
/// 4 the coarse phantoms' crowns lose true bubbles; at 3 none is lost and half the bumps of
/// fine relief go.
const ROUGHNESS_SEEDS: f32 = 3.0;

/// The scale of the second look for pits on a crease's flank, mm.
const FLANK_MM: f32 = 1.0;

/// Pits on the gingiva beside a crease (the crown's, a vestibule's): there the height above
/// the smoothed copy falls steeply towards the crease, and a bubble on that slope is a
/// shoulder with no extreme of its own. The height less its own average over [`FLANK_MM`]
/// takes the slope off and leaves the bubble standing. Only on the gingiva of the tooth map
/// (on crowns this second look finds fossae and fissure pits) and only pits.
fn flank_pits(
    scan: &ScanRef<'_, '_>,
    height: &[f32],
    min_depth: f32,
    (edge, reach): (f32, f32),
) -> Vec<Candidate> {
    let teeth = scan.tooth_of_vertex();
    if teeth.len() != height.len() {
        return Vec::new();
    }
    // At most 12 rounds (the scale shrinks to ~0.7 mm at 1M triangles; its full 1 mm finds
    // one more held-out bubble in 65 there, the same elsewhere). Capping at 8 saves 17 ms at
    // 1M but raised a false void at 400k.
    let rounds = ((FLANK_MM / edge.max(0.02)).powi(2) / 2.0)
        .round()
        .clamp(2.0, 12.0) as usize;
    let broad = imprint_core::derived::ring_average(|v| scan.neighbours(v), height, rounds);
    let relief: Vec<f32> = height.iter().zip(&broad).map(|(h, b)| h - b).collect();
    let noise = robust_spread(&relief);
    let seed = min_depth.max(4.0 * noise);
    regions_at_peaks(scan, &relief, seed, 1.5 * noise, reach)
        .into_iter()
        .filter(|r| teeth[r[0] as usize] == 0 && relief[r[0] as usize] < 0.0)
        .map(|region| Candidate {
            peak: relief[region[0] as usize].abs(),
            seed,
            flank: true,
            region,
        })
        .collect()
}

/// The region stays within `radius` of its peak (its first vertex): one that runs to the
/// limit of its growth is anatomy continuing beyond any bubble's size.
fn within(scan: &ScanRef<'_, '_>, region: &[u32], radius: f32) -> bool {
    let p = scan.positions();
    let peak = p[region[0] as usize];
    region.iter().all(|v| dist(p[*v as usize], peak) <= radius)
}

/// One bump per bubble: of bumps whose centres lie within the larger one's radius, the
/// deepest stays (a noisy floor can hold several extremes).
fn distinct(mut bumps: Vec<Bump>) -> Vec<Bump> {
    bumps.sort_by(|a, b| b.depth.total_cmp(&a.depth));
    let mut kept: Vec<Bump> = Vec::new();
    for b in bumps {
        let near = kept
            .iter()
            .any(|k| k.pit == b.pit && dist(k.centre, b.centre) < 0.5 * k.diameter.max(b.diameter));
        if !near {
            kept.push(b);
        }
    }
    kept
}

/// MAD × 1.4826: the standard deviation of the noise, untroubled by anatomy and defects.
fn robust_spread(values: &[f32]) -> f32 {
    let mut v: Vec<f32> = values.iter().map(|x| x.abs()).collect();
    if v.is_empty() {
        return 0.0;
    }
    let k = v.len() / 2;
    *v.select_nth_unstable_by(k, f32::total_cmp).1 * 1.4826
}

/// One region per pit or bump: every local extreme of the height beyond `seed` (strongest
/// first, none within 0.6 mm of a stronger one) grows downhill over same-signed neighbours
/// that rise beyond a quarter of its peak (and `floor`), no further than `reach` from it.
fn regions_at_peaks(
    scan: &ScanRef<'_, '_>,
    height: &[f32],
    seed: f32,
    floor: f32,
    reach: f32,
) -> Vec<Vec<u32>> {
    let p = scan.positions();
    let mut peaks: Vec<u32> = (0..height.len())
        .into_par_iter()
        .filter(|&v| {
            let h = height[v];
            h.abs() >= seed
                && scan
                    .neighbours(v)
                    .iter()
                    .all(|w| height[*w as usize] * h.signum() <= h.abs())
        })
        .map(|v| v as u32)
        .collect();
    peaks.sort_by(|a, b| {
        height[*b as usize]
            .abs()
            .total_cmp(&height[*a as usize].abs())
    });
    let kept = apart(p, peaks, PEAKS_APART_MM);
    kept.par_iter()
        .map(|&v| {
            let (h, centre) = (height[v as usize], p[v as usize]);
            let limit = (0.25 * h.abs()).max(floor);
            let mut region = vec![v];
            let mut seen = std::collections::HashSet::from([v]);
            let mut i = 0;
            while i < region.len() {
                let u = region[i] as usize;
                i += 1;
                let here = height[u] * h.signum();
                for &w in scan.neighbours(u) {
                    let there = height[w as usize] * h.signum();
                    // Downhill only (within the noise): a bubble beside a deeper crease
                    // keeps to its own slope.
                    if there >= limit
                        && there <= here + floor
                        && dist(p[w as usize], centre) <= reach
                        && seen.insert(w)
                    {
                        region.push(w);
                    }
                }
            }
            region
        })
        .collect()
}

/// How far apart the peaks that seed regions are, mm.
const PEAKS_APART_MM: f32 = 0.6;

/// Of `order` (strongest first), those further than `gap` from every one kept before them;
/// the kept ones are looked up in a grid of `gap`-sized cells, not one by one.
fn apart(p: &[[f32; 3]], order: Vec<u32>, gap: f32) -> Vec<u32> {
    let cell = |q: [f32; 3]| q.map(|c| (c / gap).floor() as i32);
    let mut grid: std::collections::HashMap<[i32; 3], Vec<u32>> = Default::default();
    let mut kept = Vec::new();
    for v in order {
        let q = p[v as usize];
        let c = cell(q);
        let clear = (-1..=1).all(|dx| {
            (-1..=1).all(|dy| {
                (-1..=1).all(|dz| {
                    grid.get(&[c[0] + dx, c[1] + dy, c[2] + dz])
                        .is_none_or(|ks| ks.iter().all(|k| dist(p[*k as usize], q) > gap))
                })
            })
        });
        if clear {
            grid.entry(c).or_default().push(v);
            kept.push(v);
        }
    }
    kept
}

/// Vertices within `radius` of `centre`, found by walking out from `start`.
fn nearby(scan: &ScanRef<'_, '_>, start: &[u32], centre: [f32; 3], radius: f32) -> Vec<u32> {
    let p = scan.positions();
    let mut seen = std::collections::HashSet::new();
    let mut out: Vec<u32> = Vec::new();
    for &v in start {
        if seen.insert(v) {
            out.push(v);
        }
    }
    let mut i = 0;
    while i < out.len() {
        let u = out[i] as usize;
        i += 1;
        for &w in scan.neighbours(u) {
            if dist(p[w as usize], centre) <= radius && seen.insert(w) {
                out.push(w);
            }
        }
    }
    out
}

/// Measures the region against a quadric fitted to the ring around it; `peak` is the depth
/// (or height) of its first vertex below (above) the smoothed copy.
fn measure(scan: &ScanRef<'_, '_>, region: &[u32], edge: f32, peak: f32) -> Option<Bump> {
    let p = scan.positions();
    let normals = scan.vertex_normals();
    let n = region.len() as f32;
    let c0: [f32; 3] =
        std::array::from_fn(|c| region.iter().map(|v| p[*v as usize][c]).sum::<f32>() / n);
    let r0 = region
        .iter()
        .map(|v| dist(p[*v as usize], c0))
        .fold(0.0f32, f32::max)
        .max(edge);
    let outer = (2.2 * r0).max(r0 + 4.0 * edge);
    let around = nearby(scan, region, c0, outer);
    // Local frame: the mean normal of the neighbourhood.
    let mut nz = Vector3::zeros();
    for v in &around {
        nz += Vector3::from(normals[*v as usize]);
    }
    let nz = nz.try_normalize(1e-9)?;
    let seed = if nz.x.abs() < 0.9 {
        Vector3::x()
    } else {
        Vector3::y()
    };
    let ex = nz.cross(&seed).normalize();
    let ey = nz.cross(&ex);
    let local = |v: u32| {
        let d = Vector3::from(sub(p[v as usize], c0));
        (d.dot(&ex), d.dot(&ey), d.dot(&nz))
    };
    let inner = 1.25 * r0 + edge;
    let ring: Vec<(f32, f32, f32)> = around
        .iter()
        .map(|v| local(*v))
        .filter(|(x, y, _)| x.hypot(*y) >= inner)
        .collect();
    // The ring may cross other anatomy (a crease, a neighbouring cusp): fit, drop the worst
    // third, refit, twice.
    let mut kept = ring.clone();
    let mut q = fit_quadric(&kept)?;
    for _ in 0..2 {
        let at = |q: &[f32; 6], (x, y, z): (f32, f32, f32)| {
            (z - (q[0] + q[1] * x + q[2] * y + q[3] * x * x + q[4] * x * y + q[5] * y * y)).abs()
        };
        kept.sort_by(|a, b| at(&q, *a).total_cmp(&at(&q, *b)));
        kept.truncate((ring.len() * 2).div_ceil(3).max(12));
        q = fit_quadric(&kept)?;
    }
    let surface =
        |x: f32, y: f32| q[0] + q[1] * x + q[2] * y + q[3] * x * x + q[4] * x * y + q[5] * y * y;
    let ring_rms = (kept
        .iter()
        .map(|(x, y, z)| (z - surface(*x, *y)).powi(2))
        .sum::<f32>()
        / kept.len() as f32)
        .sqrt();
    let sign_guess = {
        let s: f32 = region
            .iter()
            .map(|v| {
                let (x, y, z) = local(*v);
                z - surface(x, y)
            })
            .sum();
        s.signum()
    };
    // Heights above the fitted surface, same sign as the region, inside the ring.
    let lifted: Vec<(u32, f32, f32, f32)> = around
        .iter()
        .map(|v| {
            let (x, y, z) = local(*v);
            (*v, x, y, (z - surface(x, y)) * sign_guess)
        })
        .filter(|(_, x, y, e)| *e > 0.0 && x.hypot(*y) < inner)
        .collect();
    let depth = lifted.iter().map(|l| l.3).fold(0.0f32, f32::max);
    if depth <= 0.0 {
        return None;
    }
    // Only what stands clear of the noise floor counts towards the footprint.
    let floor = 0.1 * depth;
    let body: Vec<&(u32, f32, f32, f32)> = lifted.iter().filter(|l| l.3 > floor).collect();
    let w: f32 = body.iter().map(|l| l.3).sum();
    let (cx, cy) = (
        body.iter().map(|l| l.1 * l.3).sum::<f32>() / w,
        body.iter().map(|l| l.2 * l.3).sum::<f32>() / w,
    );
    let mut cov = Matrix2::zeros();
    for l in &body {
        let (dx, dy) = (l.1 - cx, l.2 - cy);
        cov += nalgebra::Vector2::new(dx, dy) * nalgebra::Vector2::new(dx, dy).transpose() * l.3;
    }
    let eig = cov.symmetric_eigen();
    let (lo, hi) = (eig.eigenvalues.min(), eig.eigenvalues.max());
    if hi <= 0.0 {
        return None;
    }
    // Radial profile against every vertex inside the ring (those beyond the rim pin R down).
    let samples: Vec<(f32, f32)> = around
        .iter()
        .map(|v| {
            let (x, y, z) = local(*v);
            ((x - cx).hypot(y - cy), (z - surface(x, y)) * sign_guess)
        })
        .filter(|(r, _)| *r < inner)
        .collect();
    let fit = fit_profile(&samples, inner)?;
    let (sharp, radius, depth) = (fit.sharp, fit.radius, fit.amplitude);
    if depth <= 0.0 {
        return None;
    }
    let diameter = 2.0 * radius;
    let misfit = fit.rim_rms(&samples) / depth;
    // ∫ profile over the disc: πR²A/2 for the cap, (1/2 − 2/π²)·πR²A for the cosine.
    let shape = if sharp {
        0.5
    } else {
        0.5 - 2.0 / std::f32::consts::PI.powi(2)
    };
    let volume = shape * std::f32::consts::PI * radius * radius * depth;
    let centre_local = Vector3::new(cx, cy, surface(cx, cy));
    let centre =
        Vector3::from(c0) + ex * centre_local.x + ey * centre_local.y + nz * centre_local.z;
    Some(Bump {
        pit: sign_guess < 0.0,
        centre: [centre.x, centre.y, centre.z],
        diameter,
        depth,
        volume,
        sharp,
        vertices: body.iter().map(|l| l.0).collect(),
        ring_rms,
        roundness: (lo / hi).sqrt(),
        profile_misfit: misfit,
        surround_share: depth / peak.max(1e-6),
    })
}

/// The best radial profile: a spherical cap `A(1 − (r/R)²)` (sharp rim) or a cosine
/// `A·½(1 + cos(πr/R))` (blurred), zero beyond `R`.
struct ProfileFit {
    sharp: bool,
    radius: f32,
    amplitude: f32,
}

impl ProfileFit {
    /// The profile at distance `r` from the centre.
    fn at(&self, r: f32) -> f32 {
        self.amplitude * unit_profile(self.sharp, r / self.radius)
    }

    /// RMS residual over the samples out to 1.25 radii: the bubble and its rim, not the
    /// anatomy that may rise beyond it (a tooth wall beside a bubble on the gingiva).
    fn rim_rms(&self, samples: &[(f32, f32)]) -> f32 {
        let (sum, n) = samples
            .iter()
            .filter(|(r, _)| *r < 1.25 * self.radius)
            .fold((0.0f32, 0usize), |(s, n), (r, e)| {
                (s + (e - self.at(*r)).powi(2), n + 1)
            });
        (sum / n.max(1) as f32).sqrt()
    }
}

/// The cap `1 − x²` (sharp) or the cosine `½(1 + cos πx)`, over `x = r / R`; zero beyond 1.
fn unit_profile(sharp: bool, x: f32) -> f32 {
    if x >= 1.0 {
        0.0
    } else if sharp {
        1.0 - x * x
    } else {
        0.5 * (1.0 + (std::f32::consts::PI * x).cos())
    }
}

fn fit_profile(samples: &[(f32, f32)], max_radius: f32) -> Option<ProfileFit> {
    let stride = samples.len().div_ceil(400).max(1);
    let samples: Vec<(f32, f32)> = samples.iter().step_by(stride).copied().collect();
    let samples = &samples[..];
    let energy: f64 = samples.iter().map(|(_, e)| f64::from(*e).powi(2)).sum();
    let mut best: Option<(f64, ProfileFit)> = None;
    for sharp in [true, false] {
        let f = |x: f32| unit_profile(sharp, x);
        let steps = 60;
        for k in 1..=steps {
            let radius = max_radius * k as f32 / steps as f32;
            let (mut fe, mut ff) = (0.0f64, 0.0f64);
            for (r, e) in samples {
                let m = f64::from(f(r / radius));
                fe += m * f64::from(*e);
                ff += m * m;
            }
            if ff <= 0.0 {
                continue;
            }
            // At the best amplitude fe/ff the residual is Σe² − fe²/ff: one pass, not two.
            let amplitude = fe / ff;
            let sse = energy - fe * amplitude;
            if best.as_ref().is_none_or(|b| sse < b.0) {
                best = Some((
                    sse,
                    ProfileFit {
                        sharp,
                        radius,
                        amplitude: amplitude as f32,
                    },
                ));
            }
        }
    }
    best.map(|b| b.1)
}

/// Least-squares `z = a + bx + cy + dx² + exy + fy²`, by the normal equations (6×6).
fn fit_quadric(points: &[(f32, f32, f32)]) -> Option<[f32; 6]> {
    if points.len() < 12 {
        return None;
    }
    let mut ata = nalgebra::Matrix6::<f64>::zeros();
    let mut atb = nalgebra::Vector6::<f64>::zeros();
    for &(x, y, z) in points {
        let (x, y) = (x as f64, y as f64);
        let row = nalgebra::Vector6::new(1.0, x, y, x * x, x * y, y * y);
        ata += row * row.transpose();
        atb += row * z as f64;
    }
    let solution = ata.cholesky()?.solve(&atb);
    Some(std::array::from_fn(|k| solution[k] as f32))
}

/// A finding for a measured bump.
pub fn finding(b: &Bump, policy: &Policy<'_>) -> Finding {
    let place = policy.place_of(&b.vertices);
    let kind = if b.pit {
        FindingKind::Void
    } else {
        FindingKind::Nodule
    };
    let (what, measure) = if b.pit {
        ("Void (pit)", "deep")
    } else {
        ("Nodule (bump)", "high")
    };
    let rim = if b.sharp {
        "sharp rim: an air bubble"
    } else {
        "blurred rim: fluid or a smeared bubble"
    };
    let mut f = Finding::new(
        kind,
        policy.bubble_severity(b.diameter, &place),
        b.centre,
        b.diameter,
        format!(
            "{what} {:.2} mm across, {:.2} mm {measure}, {rim}{}: {}",
            b.diameter,
            b.depth,
            place.describe(),
            policy.why_bubble(b.pit, &place)
        ),
    )
    .with_metric("diameter_mm", f64::from(b.diameter))
    .with_metric(
        if b.pit { "depth_mm" } else { "height_mm" },
        f64::from(b.depth),
    )
    .with_metric("volume_mm3", f64::from(b.volume))
    .with_metric("sharp_rim", if b.sharp { 1.0 } else { 0.0 })
    .with_metric("ring_rms_mm", f64::from(b.ring_rms))
    .with_metric("roundness", f64::from(b.roundness))
    .with_metric("profile_misfit", f64::from(b.profile_misfit))
    .with_metric("surround_share", f64::from(b.surround_share));
    f.vertices = b.vertices.clone();
    f.tooth = place.tooth;
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Radial samples of a cap 1.8 mm across and 0.9 mm deep, with a tooth wall rising
    /// 1.4 mm beyond 1.3 radii on one side.
    fn bubble_beside_wall() -> Vec<(f32, f32)> {
        let mut samples = Vec::new();
        for k in 0..200 {
            let r = 2.0 * k as f32 / 200.0;
            samples.push((r, 0.9 * unit_profile(true, r / 0.9)));
            if k % 10 == 0 && r > 1.2 {
                samples.push((r, -1.4));
            }
        }
        samples
    }

    #[test]
    fn peaks_kept_apart_are_those_the_pairwise_rule_keeps() {
        // A lattice 0.25 mm apart with a twist, strongest first in a scrambled order.
        let p: Vec<[f32; 3]> = (0..400)
            .map(|i| {
                let (x, y) = ((i % 20) as f32 * 0.25, (i / 20) as f32 * 0.25);
                [x + 0.03 * (i as f32).sin(), y, 0.1 * (x * y).cos()]
            })
            .collect();
        let order: Vec<u32> = (0..400u32).map(|i| (i * 37) % 400).collect();
        let mut pairwise: Vec<u32> = Vec::new();
        for &v in &order {
            if pairwise
                .iter()
                .all(|k| dist(p[*k as usize], p[v as usize]) > 0.6)
            {
                pairwise.push(v);
            }
        }
        assert_eq!(apart(&p, order, 0.6), pairwise);
    }

    #[test]
    fn the_profile_fit_finds_the_cap() {
        let fit = fit_profile(&bubble_beside_wall(), 2.0).expect("a fit");
        assert!(fit.sharp);
        assert!((fit.radius - 0.9).abs() < 0.1, "radius {}", fit.radius);
        assert!((fit.amplitude - 0.9).abs() < 0.1, "depth {}", fit.amplitude);
    }

    #[test]
    fn the_rim_misfit_ignores_anatomy_beyond_the_rim() {
        let samples = bubble_beside_wall();
        let fit = fit_profile(&samples, 2.0).expect("a fit");
        let everywhere = (samples
            .iter()
            .map(|(r, e)| (e - fit.at(*r)).powi(2))
            .sum::<f32>()
            / samples.len() as f32)
            .sqrt();
        assert!(fit.rim_rms(&samples) / fit.amplitude < 0.05);
        assert!(everywhere / fit.amplitude > 0.18, "{everywhere}");
    }
}

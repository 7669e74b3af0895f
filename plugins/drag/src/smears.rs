//! Smears: bands where the surface lost the fine detail the same tooth shows elsewhere (a
//! tray that slid while the material set wipes supplemental grooves and texture flat).
//!
//! 1. **Detail.** Band-passed heights (the height above a copy smoothed over ~0.9 mm, less
//!    its own average over that scale; see [`crate::grooves::heights`]) squared and averaged
//!    over ~0.6 mm: how much fine relief each part of the surface carries. The gingiva's
//!    median is the noise floor.
//! 2. **Against the same tooth.** Each tooth's typical detail is its lower quartile above
//!    the floor (anatomy only adds), not below 0.8 of the scan's middle tooth (a large smear
//!    lowers its own tooth's quartile). A tooth whose detail is not clear of the floor is not
//!    judged, and nothing is when most teeth are not (a scan without fine detail has nothing
//!    to lose), nor on scans coarser than 0.3 mm edges.
//! 3. **Bands.** Seeded where a vertex keeps under [`Settings::max_ratio`] of its tooth's
//!    detail and grown (hysteresis) where it keeps under 1.6 times that; a band is a smear
//!    when it is long and wide enough and keeps under `max_ratio` on the whole. Its axis,
//!    length and width come from its vertices' spread.

use crate::grooves::Surface;
use imprint_core::derived::ring_average;
use nalgebra::Vector3;

/// Detection settings.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// A vertex carrying less than this share of its tooth's typical detail is smeared.
    pub max_ratio: f32,
    /// Shortest smear reported, mm.
    pub min_length: f32,
    /// Narrowest smear reported, mm.
    pub min_width: f32,
}

/// A band of lost detail.
#[derive(Debug, Clone)]
pub struct Smear {
    pub vertices: Vec<u32>,
    pub centre: [f32; 3],
    /// Unit direction of the band's long axis.
    pub axis: [f32; 3],
    pub length: f32,
    pub width: f32,
    /// The vertices at either end of the long axis.
    pub ends: (u32, u32),
    pub tooth: u8,
    /// The band's detail over its tooth's typical detail (RMS heights).
    pub ratio: f32,
}

/// The scale over which detail is averaged, mm.
const DETAIL_MM: f32 = 0.6;

/// Per-vertex detail energy: squared heights above `reference` (smoothed by `rounds`), less
/// their own average over the same scale (see [`crate::grooves::heights`]), averaged over
/// [`DETAIL_MM`].
pub fn detail(s: &Surface<'_>, reference: &[[f32; 3]], rounds: usize) -> Vec<f32> {
    // No ring averages first: they would take the finest detail off with the noise, and the
    // noise only adds a floor to the energy.
    let heights = crate::grooves::heights(s, reference, rounds, 0);
    let rounds = ((DETAIL_MM / s.edge.max(0.02)).powi(2) / 2.0)
        .round()
        .clamp(2.0, 10.0) as usize;
    let squares: Vec<f32> = heights.iter().map(|h| h * h).collect();
    ring_average(|v| s.ring(v), &squares, rounds)
}

/// A tooth's detail must stand this many times the noise floor (RMS) for a smear on it to
/// be judged.
const JUDGED: f32 = 0.95;

/// Fine detail ~1 mm apart needs three or more edges per wavelength: on coarser scans the
/// crowns' anatomy passes for detail, and no smear is judged, mm.
const MAX_EDGE_MM: f32 = 0.3;

/// A tooth carries at least this share of the scan's middle tooth's detail (RMS).
const SAME_SCAN: f32 = 0.8;

/// Energy `e` above the noise `floor` (both mean squares).
fn above(e: f32, floor: f32) -> f32 {
    (e - floor).max(0.0)
}

/// The `q`-quantile of `values` (0 for none).
fn quantile(values: &mut [f32], q: f32) -> f32 {
    if values.is_empty() {
        return 0.0;
    }
    let k = ((values.len() - 1) as f32 * q).round() as usize;
    *values.select_nth_unstable_by(k, f32::total_cmp).1
}

/// What the smear check found: the smears, and whether the scan's crowns carry fine detail
/// at all (most teeth show detail clear of the noise floor).
#[derive(Debug, Default)]
pub struct Detail {
    pub smears: Vec<Smear>,
    pub detailed: bool,
}

/// Finds the smears.
pub fn find(s: &Surface<'_>, reference: &[[f32; 3]], rounds: usize, settings: &Settings) -> Detail {
    let n = s.positions.len();
    if s.teeth.len() != n || reference.len() != n || s.edge > MAX_EDGE_MM {
        return Detail::default();
    }
    let e = detail(s, reference, rounds);
    let Some(levels) = Levels::of(s, &e) else {
        return Detail::default();
    };
    // Each vertex's detail as a share of its own tooth's (RMS), on judged teeth.
    let share = |v: usize| {
        let t = levels.typical.get(&s.teeth[v])?;
        (!s.boundary[v]).then(|| (above(e[v], levels.floor) / t.max(1e-12)).sqrt())
    };
    let mut seen = vec![false; n];
    let mut smears = Vec::new();
    for v in 0..n {
        if seen[v] || share(v).is_none_or(|x| x >= settings.max_ratio) {
            continue;
        }
        let region = s.grow(v, &mut seen, |w| {
            share(w).is_some_and(|x| x < GROW * settings.max_ratio)
        });
        let ratio = region
            .iter()
            .filter_map(|&u| share(u as usize))
            .sum::<f32>()
            / region.len() as f32;
        // On the whole the band keeps under the seeding share of its detail (a quiet patch
        // of the relief dips under it in places only).
        smears.extend(measure(s, region, ratio).filter(|m| {
            m.length >= settings.min_length
                && m.width >= settings.min_width
                && m.ratio <= settings.max_ratio
                // Wider than two crowns: the map has taken gingiva (which carries no detail)
                // for crown, not a smear.
                && m.length <= MAX_LENGTH_MM
                && m.width <= MAX_WIDTH_MM
        }));
    }
    Detail {
        smears,
        detailed: true,
    }
}

/// The detail levels of a scan: the noise floor and each judged tooth's typical detail
/// above it (mean squares).
struct Levels {
    floor: f32,
    typical: std::collections::BTreeMap<u8, f32>,
}

impl Levels {
    /// `None` when most teeth show no detail clear of the floor: fine detail is the
    /// material's and the scanner's, the same over the whole cast, so the few teeth that
    /// seem to carry some are showing their anatomy.
    fn of(s: &Surface<'_>, e: &[f32]) -> Option<Self> {
        let inside = |v: &usize| !s.boundary[*v];
        // The noise floor: the detail of the gingiva (the map's), which carries none of a
        // crown's fine relief.
        let mut gum: Vec<f32> = (0..e.len())
            .filter(inside)
            .filter(|&v| s.teeth[v] == 0)
            .map(|v| e[v])
            .collect();
        let floor = quantile(&mut gum, 0.5);
        let mut by_tooth: std::collections::BTreeMap<u8, Vec<f32>> = Default::default();
        for v in (0..e.len()).filter(inside).filter(|&v| s.teeth[v] != 0) {
            by_tooth.entry(s.teeth[v]).or_default().push(e[v]);
        }
        let count = by_tooth.len();
        // Each tooth's detail above the floor (its lower quartile: anatomy only adds).
        let own: Vec<(u8, f32)> = by_tooth
            .into_iter()
            .map(|(t, mut v)| (t, above(quantile(&mut v, 0.25), floor)))
            .collect();
        // A large smear lowers its own tooth's quartile: no tooth is taken for much less
        // detailed than the scan's middle tooth.
        let mut all: Vec<f32> = own.iter().map(|x| x.1).collect();
        let middle = quantile(&mut all, 0.5);
        let typical: std::collections::BTreeMap<u8, f32> = own
            .into_iter()
            .map(|(t, d)| (t, d.max(SAME_SCAN.powi(2) * middle)))
            // Judged where the detail stands clear of the floor.
            .filter(|(_, d)| *d >= JUDGED.powi(2) * floor)
            .collect();
        (count > 0 && typical.len() * 2 >= count).then_some(Self { floor, typical })
    }
}

/// The longest and widest band judged a smear, mm (two molars side by side).
const MAX_LENGTH_MM: f32 = 20.0;
const MAX_WIDTH_MM: f32 = 10.0;

/// Hysteresis: a band is seeded where the detail is clearly gone and grows over neighbours
/// (on any judged tooth) where it is mostly gone, so the noise does not split it into pieces:
/// it grows over neighbours that keep under this many times
/// [`Settings::max_ratio`] of their tooth's detail.
const GROW: f32 = 1.6;

/// The band's centre, axis, length and width from its vertices' spread.
fn measure(s: &Surface<'_>, region: Vec<u32>, ratio: f32) -> Option<Smear> {
    if region.len() < 6 {
        return None;
    }
    // The tooth most of the band lies on.
    let mut counts = [0usize; 256];
    for &v in &region {
        counts[usize::from(s.teeth[v as usize])] += 1;
    }
    let tooth = (1..256).max_by_key(|&t| counts[t]).unwrap_or(0) as u8;
    let p = |v: u32| Vector3::from(s.positions[v as usize]);
    let (mean, _, [axis, across, _]) = s.spread(&region);
    // (Smallest, vertex) and (largest, vertex) along a direction.
    let extremes = |dir: &Vector3<f32>| {
        region.iter().fold(
            ((f32::MAX, region[0]), (f32::MIN, region[0])),
            |(lo, hi), &v| {
                let x = (p(v) - mean).dot(dir);
                (
                    if x < lo.0 { (x, v) } else { lo },
                    if x > hi.0 { (x, v) } else { hi },
                )
            },
        )
    };
    let (first, last) = extremes(&axis);
    let (left, right) = extremes(&across);
    // The centre on the surface: the band's vertex nearest its mean.
    let centre = region
        .iter()
        .map(|&v| (v, (p(v) - mean).norm()))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(v, _)| s.positions[v as usize])?;
    Some(Smear {
        centre,
        axis: [axis.x, axis.y, axis.z],
        length: last.0 - first.0,
        width: right.0 - left.0,
        ends: (first.1, last.1),
        tooth,
        ratio,
        vertices: region,
    })
}

/// Fine detail is what a smoothing over this scale takes off, mm.
const RELIEF_MM: f32 = 0.9;

/// Rounds of smoothing for the detail's reference surface.
pub fn rounds_for(edge: f32) -> usize {
    ((RELIEF_MM / edge.max(0.02)).powi(2) / 2.0)
        .round()
        .clamp(2.0, 12.0) as usize
}

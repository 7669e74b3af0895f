//! Drag marks: long, narrow grooves (or ridges) against the locally smooth surface.
//!
//! 1. **Candidates.** Each vertex's height above a smoothed copy of the scan (features
//!    narrower than ~0.7 mm removed), along its normal, averaged over the one-ring twice to
//!    quieten the scanner's noise, less its own average over the same scale (so broad shapes
//!    such as a cusp or the curve of a wall drop out and narrow channels stand). The noise
//!    level is the robust spread of those heights; vertices beyond 4 noise levels (and a
//!    floor tied to the smallest depth reported) seed regions, grown from the strongest seed
//!    first over same-signed neighbours down to 30% of the seed's height.
//! 2. **Measure.** Each region's centre line and cross-sections (see `profile.rs`) decide
//!    whether it is a drag mark and give its length, width, depth and direction. On scans
//!    fine enough for the band-pass to keep a channel (edges up to 0.3 mm), a mark whose
//!    depth is over 20 times its band-passed height is a broad shape (a cusp's ridge), not a
//!    channel. A ridge whose vertices stand more than 0.6 of its height above the smoothed
//!    surface is a broad bend (a crown's rim, an incisal edge, the gingiva's contour beside
//!    the crease), not a narrow ridge.
//! 3. **One mark per channel.** Pieces of one channel and the opposite-signed rims the second
//!    smoothing leaves beside it are merged into the deepest mark.

use imprint_core::derived::ring_average;
use nalgebra::Vector3;
use rayon::prelude::*;

type V3 = Vector3<f32>;

fn v3(p: [f32; 3]) -> V3 {
    V3::new(p[0], p[1], p[2])
}

/// Detection settings.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Smallest depth (or height) reported, mm.
    pub min_depth: f32,
    /// Smallest length reported, mm.
    pub min_length: f32,
    /// Widest channel (at half depth) taken for a drag mark, mm.
    pub max_width: f32,
    /// Widest ridge taken for a drag mark, mm (anatomy's crests measure wider).
    pub max_ridge_width: f32,
}

/// A measured drag mark.
#[derive(Debug, Clone)]
pub struct Groove {
    /// Points along the mark's centre line, on the surface, in order.
    pub path: Vec<[f32; 3]>,
    /// Unit direction along the mark (first to last path point).
    pub axis: [f32; 3],
    /// Length, mm.
    pub length: f32,
    /// Width at half depth, mm.
    pub width: f32,
    /// Depth below (negative: a groove) or height above (positive: a ridge) the surface as
    /// it should be, mm.
    pub depth: f32,
    /// The region's vertices.
    pub vertices: Vec<u32>,
    /// How much the depth varies along the mark: the spread of its stations' depths (10th to
    /// 90th percentile) over the median depth.
    pub spread: f32,
    /// The region's highest band-passed height (see [`heights`]), mm.
    pub peak: f32,
}

impl Groove {
    /// The middle of the path.
    pub fn centre(&self) -> [f32; 3] {
        self.path[self.path.len() / 2]
    }
}

/// The smoothing scale: features narrower than this are taken off the reference, mm.
const SCALE_MM: f32 = 0.7;
/// At most this many rounds of smoothing: on scans finer than ~0.2 mm the scale shrinks (to
/// ~0.5 mm at 1M triangles, ~0.14 mm edges), which keeps the analyzer within its time budget.
const MAX_ROUNDS: f32 = 6.0;

/// The scan as the detectors see it: positions, normals and the graph.
pub struct Surface<'s> {
    pub positions: &'s [[f32; 3]],
    pub normals: &'s [[f32; 3]],
    /// The vertex graph as compressed rows (see [`Surface::ring`]).
    pub offsets: &'s [u32],
    pub items: &'s [u32],
    pub boundary: &'s [bool],
    pub edge: f32,
    /// The tooth map's FDI per vertex, 0 for gingiva (may be empty).
    pub teeth: &'s [u8],
}

impl Surface<'_> {
    /// The connected region from `v` over vertices not yet `seen` that pass `keep`, breadth
    /// first; marks them seen.
    pub fn grow(&self, v: usize, seen: &mut [bool], keep: impl Fn(usize) -> bool) -> Vec<u32> {
        let mut region = vec![v as u32];
        seen[v] = true;
        let mut i = 0;
        while i < region.len() {
            let u = region[i] as usize;
            i += 1;
            for &w in self.ring(u) {
                let w = w as usize;
                if !seen[w] && keep(w) {
                    seen[w] = true;
                    region.push(w as u32);
                }
            }
        }
        region
    }

    /// The spread of `region`'s vertices (not empty): their mean, and the principal
    /// variances with their unit axes, largest first.
    pub fn spread(&self, region: &[u32]) -> (V3, [f32; 3], [V3; 3]) {
        let p = |v: u32| v3(self.positions[v as usize]);
        let n = region.len().max(1) as f32;
        let mean = region.iter().fold(V3::zeros(), |a, &v| a + p(v)) / n;
        let cov = region
            .iter()
            .fold(nalgebra::Matrix3::<f32>::zeros(), |a, &v| {
                let d = p(v) - mean;
                a + d * d.transpose() / n
            });
        let eig = cov.symmetric_eigen();
        let mut order = [0usize, 1, 2];
        order.sort_by(|&a, &b| eig.eigenvalues[b].total_cmp(&eig.eigenvalues[a]));
        (
            mean,
            order.map(|k| eig.eigenvalues[k]),
            order.map(|k| eig.eigenvectors.column(k).into_owned()),
        )
    }

    /// The neighbours of vertex `v` (none for a vertex out of range).
    #[inline]
    pub fn ring(&self, v: usize) -> &[u32] {
        match (self.offsets.get(v), self.offsets.get(v + 1)) {
            (Some(&a), Some(&b)) => self.items.get(a as usize..b as usize).unwrap_or(&[]),
            _ => &[],
        }
    }
}

/// Heights above a reference smoothed by `smoothed(rounds)`, denoised by `quiet` ring
/// averages, less their own average over the same scale: broad shapes (a cusp, the curve of
/// a wall) leave a slowly varying height that the second smoothing takes off again, while a
/// narrow channel stands out of both.
pub fn heights(s: &Surface<'_>, reference: &[[f32; 3]], rounds: usize, quiet: usize) -> Vec<f32> {
    band_pass(s, &raw_heights(s, reference, quiet), rounds)
}

/// Heights along the normal above the smoothed `reference`, denoised by `quiet` ring
/// averages (0 on the boundary): the first half of [`heights`].
pub fn raw_heights(s: &Surface<'_>, reference: &[[f32; 3]], quiet: usize) -> Vec<f32> {
    let fine: Vec<f32> = (0..s.positions.len())
        .into_par_iter()
        .map(|v| {
            if s.boundary.get(v).copied().unwrap_or(true) {
                0.0
            } else {
                (v3(s.positions[v]) - v3(reference[v])).dot(&v3(s.normals[v]))
            }
        })
        .collect();
    ring_average(|v| s.ring(v), &fine, quiet)
}

/// Raw heights less their own average over `rounds` ring averages: the second half of
/// [`heights`].
pub fn band_pass(s: &Surface<'_>, raw: &[f32], rounds: usize) -> Vec<f32> {
    let broad = ring_average(|v| s.ring(v), raw, rounds);
    raw.iter().zip(&broad).map(|(f, b)| f - b).collect()
}

/// Ring averages that quieten the scanner's noise in the drag detector's heights.
pub const QUIET_ROUNDS: usize = 2;

/// Rounds of smoothing that take features of [`SCALE_MM`] off a surface with this edge.
pub fn rounds_for(edge: f32) -> usize {
    ((SCALE_MM / edge.max(0.02)).powi(2) / 2.0)
        .round()
        .clamp(2.0, MAX_ROUNDS) as usize
}

/// The robust spread (1.4826 × median absolute value) of the heights.
pub fn noise_level(heights: &[f32]) -> f32 {
    let step = (heights.len() / 50_000).max(1);
    let mut a: Vec<f32> = heights.iter().step_by(step).map(|h| h.abs()).collect();
    if a.is_empty() {
        return 0.0;
    }
    let m = a.len() / 2;
    a.select_nth_unstable_by(m, f32::total_cmp);
    1.4826 * a[m]
}

/// A ridge whose vertices stand, at the median, more than this share of its height above
/// the smoothed surface is a broad bend, not a drag (see [`bend_share`]). Measured on
/// phantoms: drags' ridges keep 0.2–0.4 (a few on convex cusps up to ~0.9); a crown's rim,
/// an incisal edge and the gingiva's contour beside the crease 0.5–2.
const MAX_BEND_SHARE: f32 = 0.6;

/// A mark's depth (across its profile) is at most this many times its band-passed height:
/// marks of 0.3–0.8 mm keep 1/15–1/3 of their depth through the band-pass ...
const MAX_DEPTH_OVER_PEAK: f32 = 20.0;
/// ... on scans with edges up to this long, mm (at 0.4 mm a 0.7 mm channel keeps 1/20).
const BANDPASS_EDGE_MM: f32 = 0.3;

/// Finds the drag marks.
pub fn find(s: &Surface<'_>, heights: &[f32], raw: &[f32], settings: &Settings) -> Vec<Groove> {
    let noise = noise_level(heights);
    let seed = (4.0 * noise).max(0.3 * settings.min_depth);
    let grow = (2.0 * noise).max(0.15 * settings.min_depth);
    let regions = regions(s, heights, seed, grow);
    let channels = crate::profile::Channels::new(s, &regions, heights);
    let marks: Vec<Groove> = regions
        .par_iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let peak = r
                .iter()
                .map(|&v| heights[v as usize].abs())
                .fold(0.0, f32::max);
            let candidate = channels.candidate(i, r);
            crate::profile::measure(s, &candidate, &channels, settings)
                .map(|g| Groove { peak, ..g })
        })
        .collect();
    // A narrow channel keeps a good share of its depth through the band-pass; a broad shape
    // (a cusp's ridge, which fine detail on it seeded) keeps little. On a coarse scan the
    // ring averages take most of any channel off too. After `distinct`: the broad shape
    // still stands for the pieces of it that other regions measured.
    distinct(marks)
        .into_iter()
        .filter(|g| s.edge > BANDPASS_EDGE_MM || g.depth.abs() <= MAX_DEPTH_OVER_PEAK * g.peak)
        .filter(|g| g.depth <= 0.0 || bend_share(raw, g) <= MAX_BEND_SHARE)
        .collect()
}

/// How much of a ridge's height its vertices stand above the smoothed surface, at the
/// median: a narrow ridge keeps a small share (the smoothed surface rises into it), a broad
/// bend (a crown's rim, an incisal edge, the gingiva's contour beside a crease) a large one,
/// as its height over the shoulders of its cross-section is small against its curvature.
fn bend_share(raw: &[f32], g: &Groove) -> f32 {
    let mut lifted: Vec<f32> = g.vertices.iter().map(|&v| raw[v as usize]).collect();
    if lifted.is_empty() {
        return 0.0;
    }
    let mid = lifted.len() / 2;
    let (_, median, _) = lifted.select_nth_unstable_by(mid, f32::total_cmp);
    *median / g.depth.abs().max(1e-6)
}

/// One mark per groove. Of two marks of the same sign whose centre lines run within
/// [`SAME_LINE_MM`] of each other, the longer stays (the smoothed residual can split one mark
/// into pieces); a mark of the other sign within [`FLANK_MM`] of a deeper one is that one's
/// flank (the second smoothing leaves a rim of the opposite sign along a channel).
fn distinct(mut marks: Vec<Groove>) -> Vec<Groove> {
    marks.sort_by(|a, b| b.depth.abs().total_cmp(&a.depth.abs()));
    let mut kept: Vec<Groove> = Vec::new();
    for m in marks {
        let near = |k: &Groove, reach: f32| {
            m.path
                .iter()
                .filter(|p| path_distance(**p, &k.path) <= reach)
                .count()
                * 2
                >= m.path.len()
        };
        let flank = kept
            .iter()
            .any(|k| k.depth.signum() != m.depth.signum() && near(k, FLANK_MM));
        let same = kept
            .iter()
            .position(|k| k.depth.signum() == m.depth.signum() && near(k, SAME_LINE_MM));
        match (flank, same) {
            (true, _) => {}
            (false, Some(i)) if kept[i].length < m.length => kept[i] = m,
            (false, Some(_)) => {}
            (false, None) => kept.push(m),
        }
    }
    kept
}

/// A rim of the other sign this close to a deeper mark is its flank, mm.
const FLANK_MM: f32 = 1.0;
/// Two centre lines this close are one mark, mm.
const SAME_LINE_MM: f32 = 0.4;

fn path_distance(p: [f32; 3], path: &[[f32; 3]]) -> f32 {
    imprint_core::util::polyline_distance(p, path, false)
}

/// Connected same-signed regions that hold a seed beyond `seed`, grown from the strongest
/// seed first over neighbours beyond `grow` and beyond [`PEAK_SHARE`] of the seed's height
/// (so a mark does not run on into the faint anatomy around it).
fn regions(s: &Surface<'_>, h: &[f32], seed: f32, grow: f32) -> Vec<Vec<u32>> {
    let mut seeds: Vec<usize> = (0..h.len()).filter(|&v| h[v].abs() >= seed).collect();
    seeds.sort_by(|&a, &b| h[b].abs().total_cmp(&h[a].abs()));
    let mut taken = vec![false; h.len()];
    let mut out = Vec::new();
    for start in seeds {
        if taken[start] {
            continue;
        }
        let sign = h[start].signum();
        let floor = grow.max(PEAK_SHARE * h[start].abs());
        let region = s.grow(start, &mut taken, |w| h[w] * sign >= floor);
        if region.len() >= 6 {
            out.push(region);
        }
    }
    out
}

/// A region takes in neighbours down to this share of its seed's height.
const PEAK_SHARE: f32 = 0.3;

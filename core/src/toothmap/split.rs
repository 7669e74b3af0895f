//! Splitting the crowns into teeth along the arch: a tooth-width template (per jaw, scaled
//! to the patient) is fitted to the crowns' profile along the arch by dynamic programming,
//! with cuts preferred at interproximal valleys (where the crowns narrow and dip) and gaps of
//! a tooth's width allowed as missing teeth. The better-fitting jaw's template names the teeth.

use crate::tooth::Jaw;
use rayon::prelude::*;

/// Profile bin width along the arch, mm.
pub(crate) const BIN: f32 = 0.5;

/// Mean mesiodistal crown widths (mm) by position 1–8 (textbook means).
pub(crate) fn template(jaw: Jaw) -> [f32; 8] {
    match jaw {
        Jaw::Upper => [8.6, 6.6, 7.6, 7.0, 6.6, 10.2, 9.2, 8.6],
        Jaw::Lower => [5.3, 5.8, 6.9, 7.0, 7.2, 11.0, 10.5, 10.0],
    }
}

/// The crowns' profile along the arch.
pub(crate) struct Profile {
    /// Arch length at the centre of bin 0.
    pub s0: f32,
    /// Bin holds crown vertices.
    pub occupied: Vec<bool>,
    /// How good a cut the bin makes, 0–1 (1 where empty or at a clear valley).
    pub quality: Vec<f32>,
}

impl Profile {
    /// Builds the profile from the crown vertices' arch coordinates.
    pub fn new(s: &[f32], t: &[f32], h: &[f32], tooth: &[bool]) -> Option<Self> {
        let (lo, hi) = s
            .iter()
            .zip(tooth)
            .filter(|(_, k)| **k)
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), (v, _)| {
                (a.min(*v), b.max(*v))
            });
        // Crowns along less than 15 mm of arch (two teeth) are no arch to number.
        if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater)
            || hi - lo < 15.0
            || hi - lo > 400.0
        {
            return None;
        }
        let s0 = lo.min(-10.0) - 2.0;
        let n = ((hi.max(10.0) + 2.0 - s0) / BIN) as usize + 1;
        let mut count = vec![0u32; n];
        let mut top = vec![f32::NEG_INFINITY; n];
        let mut tmin = vec![f32::INFINITY; n];
        let mut tmax = vec![f32::NEG_INFINITY; n];
        for i in (0..s.len()).filter(|i| tooth[*i]) {
            let b = (((s[i] - s0) / BIN).round() as usize).min(n - 1);
            count[b] += 1;
            top[b] = top[b].max(h[i]);
            tmin[b] = tmin[b].min(t[i]);
            tmax[b] = tmax[b].max(t[i]);
        }
        let mut nonzero: Vec<u32> = count.iter().copied().filter(|c| *c > 0).collect();
        nonzero.sort_unstable();
        let typical = nonzero.get(nonzero.len() / 2).copied().unwrap_or(0);
        let floor = (typical / 12).max(3);
        let occupied: Vec<bool> = count.iter().map(|c| *c >= floor).collect();
        let ext: Vec<f32> = (0..n)
            .map(|b| if occupied[b] { tmax[b] - tmin[b] } else { 0.0 })
            .collect();
        // A valley is lower than the highest point on *both* sides within ~a half tooth.
        let window = (3.0 / BIN) as usize;
        let side_max = |v: &[f32], range: std::ops::Range<usize>| {
            range
                .filter(|k| occupied[*k])
                .fold(f32::NEG_INFINITY, |m, k| m.max(v[k]))
        };
        let quality = (0..n)
            .map(|b| {
                if !occupied[b] {
                    return 1.0;
                }
                let (left, right) = (b.saturating_sub(window)..b, b + 1..(b + window + 1).min(n));
                let ext_rim = side_max(&ext, left.clone()).min(side_max(&ext, right.clone()));
                let top_rim = side_max(&top, left).min(side_max(&top, right));
                let q_ext = if ext_rim.is_finite() {
                    (1.0 - ext[b] / ext_rim.max(1e-3)).clamp(0.0, 1.0) * 2.0
                } else {
                    0.0
                };
                let q_top = if top_rim.is_finite() {
                    ((top_rim - top[b]) / 1.5).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                // Both: the crowns narrow (embrasures) and dip (marginal ridges) at a contact;
                // a molar's transverse fissure dips without narrowing.
                (q_ext.min(1.0) * q_top).sqrt()
            })
            .collect();
        Some(Self {
            s0,
            occupied,
            quality,
        })
    }

    fn s_of(&self, bin: usize) -> f32 {
        self.s0 + bin as f32 * BIN
    }
}

/// One tooth position laid along the arch.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Slot {
    /// FDI number.
    pub fdi: u8,
    /// Arch-length span.
    pub s: (f32, f32),
    /// A gap: the tooth is missing.
    pub missing: bool,
    /// Its width against the template, `|w − e| / e`.
    pub width_error: f32,
}

/// The fitted layout.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub jaw: Jaw,
    pub scale: f32,
    pub slots: Vec<Slot>,
    /// Cost of the best layout with the other jaw's template, minus this one's.
    pub jaw_margin: f32,
}

const CUT_WEIGHT: f32 = 3.0;
const OCC_WEIGHT: f32 = 4.0;
const MISSING_PRIOR: f32 = 3.0;
const LEFTOVER_WEIGHT: f32 = 0.5;
/// Cost of a clear valley inside one tooth: two teeth taken for one.
const VALLEY_WEIGHT: f32 = 4.0;
/// Spread of the midline about the arch's axis of symmetry, mm.
const MIDLINE_SIGMA: f32 = 2.0;

/// One direction along the arch: the profile's bins in walking order (forwards, or
/// backwards for the side of negative arch length).
struct Side {
    occupied_prefix: Vec<u32>,
    quality: Vec<f32>,
    /// Sparse table of range maxima of `quality`: `peaks[k][i]` = max over `[i, i + 2^k)`.
    peaks: Vec<Vec<f32>>,
}

/// Cost-to-go of laying positions `k + 1 ..= 8` outwards from a cut at bin `i`, for every
/// `k` and `i`, with the choices that achieve it.
struct CostToGo {
    cost: Vec<Vec<f32>>,
    /// `(end bin, missing)` of position `k + 1`, or `None` where the arch ends after `k`.
    step: Vec<Vec<Option<(usize, bool)>>>,
}

impl Side {
    fn new(p: &Profile, forward: bool) -> Self {
        let idx: Vec<usize> = if forward {
            (0..p.occupied.len()).collect()
        } else {
            (0..p.occupied.len()).rev().collect()
        };
        let mut occupied_prefix = vec![0u32];
        for &b in &idx {
            let last = *occupied_prefix.last().unwrap_or(&0);
            occupied_prefix.push(last + p.occupied[b] as u32);
        }
        let quality: Vec<f32> = idx.iter().map(|b| p.quality[*b]).collect();
        let mut peaks = vec![quality.clone()];
        let mut span = 1;
        while 2 * span <= quality.len() {
            let prev = &peaks[peaks.len() - 1];
            let next: Vec<f32> = (0..=quality.len() - 2 * span)
                .map(|i| prev[i].max(prev[i + span]))
                .collect();
            peaks.push(next);
            span *= 2;
        }
        Self {
            occupied_prefix,
            quality,
            peaks,
        }
    }

    /// The deepest valley strictly inside `[i, j]`, away from both ends by a fifth.
    fn inner_valley(&self, i: usize, j: usize) -> f32 {
        let margin = ((j - i) / 5).max(1);
        let (a, b) = (i + margin, j.saturating_sub(margin));
        if b <= a {
            return 0.0;
        }
        let k = (usize::BITS - 1 - (b - a).leading_zeros()) as usize;
        self.peaks[k][a].max(self.peaks[k][b - (1 << k)])
    }

    fn len(&self) -> usize {
        self.quality.len()
    }

    /// Occupied bins in `[i, j)`.
    fn occupied(&self, i: usize, j: usize) -> u32 {
        self.occupied_prefix[j] - self.occupied_prefix[i]
    }

    /// Cost of position `k` (1-based, expected width `e`) over `[i, j]`: present or missing
    /// (never missing when `kept`: the case says the tooth is prepared, so it is there).
    fn segment(&self, e: f32, i: usize, j: usize, kept: bool) -> (f32, bool) {
        let w = (j - i) as f32 * BIN;
        let frac = self.occupied(i, j) as f32 / (j - i) as f32;
        let present = ((w - e) / (0.12 * e)).powi(2)
            + OCC_WEIGHT * (1.0 - frac)
            + VALLEY_WEIGHT * self.inner_valley(i, j);
        let missing = ((w - e) / (0.2 * e)).powi(2) + OCC_WEIGHT * frac + MISSING_PRIOR;
        if kept || present <= missing {
            (present, false)
        } else {
            (missing, true)
        }
    }

    /// The cost-to-go table for tooth widths `widths` (positions 1–8; those `kept` are never
    /// missing). Stopping after any position costs the crown bins left beyond the last cut.
    fn cost_to_go(&self, widths: &[f32; 8], kept: [bool; 8]) -> CostToGo {
        let n = self.len();
        let total = self.occupied(0, n);
        let leftover = |i: usize| (total - self.occupied_prefix[i + 1]) as f32 * LEFTOVER_WEIGHT;
        let mut cost = vec![vec![f32::INFINITY; n]; 9];
        let mut step = vec![vec![None; n]; 9];
        cost[8] = (0..n).map(leftover).collect();
        for k in (0..8).rev() {
            let e = widths[k];
            let (lo, hi) = ((0.5 * e / BIN) as usize, (1.7 * e / BIN) as usize + 1);
            let (head, tail) = cost.split_at_mut(k + 1);
            let (here, next) = (&mut head[k], &tail[0]);
            for i in 0..n {
                let mut best = (leftover(i), None);
                let first = (i + lo.max(1)).min(n);
                for (j, &after) in next.iter().enumerate().take((i + hi).min(n)).skip(first) {
                    if !after.is_finite() {
                        continue;
                    }
                    let (seg, gap) = self.segment(e, i, j, kept[k]);
                    let total = seg + CUT_WEIGHT * (1.0 - self.quality[j]) + after;
                    if total < best.0 {
                        best = (total, Some((j, gap)));
                    }
                }
                here[i] = best.0;
                step[k][i] = best.1;
            }
        }
        CostToGo { cost, step }
    }
}

impl CostToGo {
    /// The layout from a midline cut at bin `m`: the end bin and gap flag of each position.
    fn walk(&self, m: usize) -> Vec<(usize, bool)> {
        let mut ends = Vec::new();
        let mut i = m;
        for k in 0..8 {
            match self.step[k][i] {
                Some((j, gap)) => {
                    ends.push((j, gap));
                    i = j;
                }
                None => break,
            }
        }
        // A trailing gap is no evidence of a missing tooth: the arch just ends.
        while ends.last().is_some_and(|e| e.1) {
            ends.pop();
        }
        ends
    }
}

/// One fitted layout: jaw, scale, midline bin, cost, ends outwards on the + and − sides.
type Candidate = (Jaw, f32, usize, f32, Vec<(usize, bool)>, Vec<(usize, bool)>);

/// The quadrants on the + and − sides of the arch (+s runs along `anterior × occlusal`: the
/// patient's left on an upper arch, the right on a lower one).
fn quadrants(jaw: Jaw) -> (u8, u8) {
    match jaw {
        Jaw::Upper => (2, 1),
        Jaw::Lower => (4, 3),
    }
}

/// Positions 1–8 of `quadrant` the case says are prepared.
fn kept(quadrant: u8, prepared: &[u8]) -> [bool; 8] {
    std::array::from_fn(|k| prepared.contains(&(quadrant * 10 + k as u8 + 1)))
}

/// Fits the template of `jaw` (or both, keeping the better) to the profile; the teeth of
/// `prepared` are present (a reduced crown beside a gap is not taken for part of its
/// neighbour).
pub(crate) fn fit(profile: &Profile, jaw: Option<Jaw>, prepared: &[u8]) -> Option<Layout> {
    let jaws: Vec<Jaw> = match jaw {
        Some(j) => vec![j],
        None => vec![Jaw::Upper, Jaw::Lower],
    };
    let scales: Vec<f32> = (0..7).map(|i| 0.85 + 0.05 * i as f32).collect();
    let n = profile.occupied.len();
    let zero = ((0.0 - profile.s0) / BIN).round() as isize;
    let mids: Vec<usize> = (-16..=16)
        .map(|d| zero + d)
        .filter(|m| *m > 0 && (*m as usize) < n - 1)
        .map(|m| m as usize)
        .collect();
    let combos: Vec<(Jaw, f32)> = jaws
        .iter()
        .flat_map(|j| scales.iter().map(move |s| (*j, *s)))
        .collect();
    let (forward, backward) = (Side::new(profile, true), Side::new(profile, false));
    let results: Vec<Candidate> = combos
        .par_iter()
        .filter_map(|&(jaw, scale)| {
            let widths = template(jaw).map(|w| w * scale);
            let (q_plus, q_minus) = quadrants(jaw);
            let (plus, minus) = (
                forward.cost_to_go(&widths, kept(q_plus, prepared)),
                backward.cost_to_go(&widths, kept(q_minus, prepared)),
            );
            mids.iter()
                .map(|&m| {
                    let back = n - 1 - m;
                    let cut = CUT_WEIGHT * (1.0 - profile.quality[m]);
                    // The front of the arch was found by symmetry: the midline is near s = 0.
                    let off = (m as isize - zero) as f32 * BIN / MIDLINE_SIGMA;
                    let cost = plus.cost[0][m] + minus.cost[0][back] + cut + off * off;
                    (jaw, scale, m, cost, plus.walk(m), minus.walk(back))
                })
                .min_by(|a, b| a.3.total_cmp(&b.3))
        })
        .collect();
    let best = results.iter().min_by(|a, b| a.3.total_cmp(&b.3))?;
    let other = results
        .iter()
        .filter(|r| r.0 != best.0)
        .map(|r| r.3)
        .fold(f32::INFINITY, f32::min);
    let (jaw, scale, mid) = (best.0, best.1, best.2);
    let widths = template(jaw).map(|w| w * scale);
    let (plus, minus) = quadrants(jaw);
    let mut slots = Vec::new();
    for (quadrant, ends, forward) in [(minus, &best.5, false), (plus, &best.4, true)] {
        let mut start = mid as isize;
        for (k, &(end, missing)) in ends.iter().enumerate() {
            let stop = if forward {
                end as isize
            } else {
                (n - 1 - end) as isize
            };
            let (a, b) = (start.min(stop) as usize, start.max(stop) as usize);
            let w = (b - a) as f32 * BIN;
            slots.push(Slot {
                fdi: quadrant * 10 + k as u8 + 1,
                s: (profile.s_of(a), profile.s_of(b)),
                missing,
                width_error: (w - widths[k]).abs() / widths[k],
            });
            start = stop;
        }
    }
    slots.sort_by(|a, b| a.s.0.total_cmp(&b.s.0));
    Some(Layout {
        jaw,
        scale,
        slots,
        jaw_margin: other - best.3,
    })
}

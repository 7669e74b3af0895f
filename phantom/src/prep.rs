//! A prepared tooth near its finish line: the reduced crown inside the outline, the exposed
//! root surface just outside it, and the flaws an impression can show along the line (tissue
//! lying over it, a blurred edge, a hole), with their truth.
//!
//! Heights are relative to the gingival margin level, as everywhere in the generator. The
//! finish line is the outline itself (outline radius `r = 1`), `margin_height` above the
//! gingiva; below it the root surface runs [`ROOT_RUN`] mm outward down to the gingiva, so the
//! line is a convex crease between the ledge (or chamfer) and the root.

use crate::arch::{Finish, PlacedTooth, Prep};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Horizontal run of the exposed root surface below the finish line, mm (a retracted sulcus:
/// the root drops 0.5–1.2 mm over this run, 55–74° steep; at least two edge lengths of a
/// 400k-triangle arch, so the crease is resolved).
pub const ROOT_RUN: f32 = 0.35;
/// How far inside the natural crown's outline the finish line lies, mm: the preparation
/// reduces the proximal surfaces too, so the line stands clear of the neighbouring teeth.
pub const INSET: f32 = 0.6;
/// How far outside the outline a flaw can reach, mm.
const FLAW_REACH: f32 = 1.2;
/// Length over which a flaw fades in and out, as a fraction of the outline.
const TAPER: f32 = 0.006;

/// What went wrong along a stretch of the finish line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlawKind {
    /// Gingiva (or blood, saliva) lying over the line: no crease is seen there.
    Tissue,
    /// The edge rounded off: a crease is there, but not sharp.
    Blur,
    /// Missing surface across the line.
    Hole,
}

/// One flaw along the finish line, between two outline fractions (`from < to`, `to` may
/// pass 1 and wrap).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MarginFlaw {
    /// Kind.
    pub kind: FlawKind,
    /// Start, as a fraction of the outline from its parameter origin.
    pub from: f32,
    /// End (`from < to < from + 1`).
    pub to: f32,
    /// Blur radius (mm), tissue lift above the line (mm), or hole radius (mm).
    pub strength: f32,
}

impl MarginFlaw {
    /// Draws a flaw 1.5–4 mm long (of an outline `perimeter` mm long) at a random place.
    pub fn random(kind: FlawKind, perimeter: f32, rng: &mut impl Rng) -> Self {
        let from = rng.random_range(0.0..1.0f32);
        let length = match kind {
            FlawKind::Hole => 0.0,
            _ => rng.random_range(1.5..4.0f32) / perimeter,
        };
        let strength = match kind {
            FlawKind::Tissue => rng.random_range(0.1..0.3),
            FlawKind::Blur => rng.random_range(0.3..0.5),
            FlawKind::Hole => rng.random_range(0.35..0.7),
        };
        Self {
            kind,
            from,
            to: from + length,
            strength,
        }
    }

    /// How fully the flaw applies at outline fraction `f` (1 inside, fading at both ends;
    /// 0.5 at `from` and `to`).
    fn weight(&self, f: f32) -> f32 {
        let f = if f < self.from { f + 1.0 } else { f };
        let inside = (f - self.from).min(self.to - f);
        (inside / TAPER + 0.5).clamp(0.0, 1.0)
    }
}

/// The outline fraction (0..1) of footprint point `(u, v)` of a tooth with half widths
/// `(a, b)` and superellipse exponent `p`: the inverse of [`outline_point`].
pub fn outline_fraction(u: f32, v: f32, a: f32, b: f32, p: f32) -> f32 {
    let c = (u / a).signum() * (u / a).abs().powf(p / 2.0);
    let s = (v / b).signum() * (v / b).abs().powf(p / 2.0);
    (s.atan2(c) / std::f32::consts::TAU).rem_euclid(1.0)
}

/// The footprint point `(u, v)` of the outline at fraction `f`.
pub fn outline_point(f: f32, a: f32, b: f32, p: f32) -> (f32, f32) {
    let th = std::f32::consts::TAU * f;
    let e = 2.0 / p;
    let (c, s) = (th.cos(), th.sin());
    (
        a * c.signum() * c.abs().powf(e),
        b * s.signum() * s.abs().powf(e),
    )
}

/// Half widths `(mesiodistal, buccolingual)` of a prepared tooth's finish line.
pub fn outline(t: &PlacedTooth) -> (f32, f32) {
    (t.md / 2.0 - INSET, t.bl / 2.0 - INSET)
}

/// How far outside a prepared tooth's finish line footprint point `(u, v)` lies, mm
/// (negative inside), or `None` for a tooth that is not prepared.
pub fn outside(t: &PlacedTooth, u: f32, v: f32) -> Option<f32> {
    t.prep.as_ref()?;
    let (a, b) = outline(t);
    let p = crate::surface::outline_exponent(t.fdi);
    let r = ((u / a).abs().powf(p) + (v / b).abs().powf(p)).powf(1.0 / p);
    Some((r - 1.0) * a.min(b))
}

/// Height of a prepared tooth at footprint point `(u, v)`, or `None` where the gingiva
/// alone decides.
pub fn height(t: &PlacedTooth, prep: &Prep, u: f32, v: f32) -> Option<f32> {
    let (a, b) = outline(t);
    let p = crate::surface::outline_exponent(t.fdi);
    let r = ((u / a).abs().powf(p) + (v / b).abs().powf(p)).powf(1.0 / p);
    let f = outline_fraction(u, v, a, b, p);
    let half = a.min(b);
    let d = (r - 1.0) * half;
    let reach = match (prep.finish, prep.flaws.is_empty()) {
        (Finish::Abutted, _) => collar_reach(prep.margin_height),
        (_, true) => 2.0 * ROOT_RUN,
        (_, false) => FLAW_REACH,
    };
    if d > reach {
        return None;
    }
    let mut h = clean(t, prep, d, half);
    for flaw in &prep.flaws {
        let w = flaw.weight(f);
        if w <= 0.0 {
            continue;
        }
        match flaw.kind {
            FlawKind::Blur => {
                let step = flaw.strength / 4.0;
                let mean = (-4..=4)
                    .map(|j| clean(t, prep, d + j as f32 * step, half))
                    .sum::<f32>()
                    / 9.0;
                h = (1.0 - w) * h + w * mean;
            }
            FlawKind::Tissue => {
                let lift =
                    (prep.margin_height + flaw.strength) * (-((d - 0.1) / 0.5).powi(2)).exp() * w;
                h = crate::surface::smooth_max(h, lift, 0.2);
            }
            FlawKind::Hole => {}
        }
    }
    Some(h)
}

/// The clean profile at `d` mm outside the outline (inside when negative).
fn clean(t: &PlacedTooth, prep: &Prep, d: f32, half: f32) -> f32 {
    // The root keeps descending past the gingival level; the surface takes the gingiva
    // wherever it is higher, so the root meets it in a natural (concave) crease and no shelf
    // is left around a flaw's wider footprint.
    if d >= 0.0 {
        return match prep.finish {
            Finish::Abutted => collar(prep.margin_height, d),
            _ => prep.margin_height * (1.0 - d / ROOT_RUN),
        };
    }
    let r = 1.0 + d / half;
    let inner = 1.0 - prep.reduction / half;
    let rise = 0.85 * prep.reduction;
    let ledge_top = match prep.finish {
        Finish::Shoulder => prep.margin_height,
        Finish::Chamfer | Finish::Abutted => prep.margin_height + rise,
    };
    if r >= inner {
        let x = (1.0 - r) / (1.0 - inner);
        return match prep.finish {
            Finish::Shoulder => prep.margin_height,
            // A concave chamfer: 17° at the line, steepening toward the axial wall.
            Finish::Chamfer => prep.margin_height + rise * (0.35 * x + 0.65 * x * x),
            // A steep chamfer: ~45° at the line, easing toward the axial wall.
            Finish::Abutted => prep.margin_height + rise * (1.2 * x - 0.2 * x * x),
        };
    }
    let top = (0.65 * t.height).max(ledge_top + 2.0);
    let x = r / inner;
    if prep.sharp {
        return sharp_crown(ledge_top, top, (1.0 - x) * inner * half, x);
    }
    ledge_top + (top - ledge_top) * crate::surface::wall_profile(x, 6.0, 0.35, t.wall_ease)
}

/// Taper of a crisp preparation's axial walls from the path of insertion, degrees.
const SHARP_TAPER_DEG: f32 = 6.0;
/// Rise of its occlusal table's dome from edge to centre, mm.
const SHARP_DOME: f32 = 0.3;
/// Width over which its occlusal-axial edge is rounded, mm.
const SHARP_EDGE_MM: f32 = 0.15;

/// A crisp preparation above its ledge: walls rising at [`SHARP_TAPER_DEG`] from the
/// ledge, `inward` mm inside the walls' foot, meet a gently domed table (`x`: 0 at the
/// centre, 1 at the foot) at a line angle of ~80°, rounded over [`SHARP_EDGE_MM`].
fn sharp_crown(ledge_top: f32, top: f32, inward: f32, x: f32) -> f32 {
    let wall = ledge_top + inward / SHARP_TAPER_DEG.to_radians().tan();
    let table = top + SHARP_DOME * (1.0 - x * x);
    -crate::surface::smooth_max(-wall, -table, SHARP_EDGE_MM)
}

/// Width of the gingival collar abutting an [`Finish::Abutted`] line up to its crest, mm.
const COLLAR_MM: f32 = 0.9;
/// Height of the collar's crest above the line, mm.
const COLLAR_RISE: f32 = 0.25;
/// Width over which the collar turns from its crest into its outer slope, mm.
const COLLAR_TURN_MM: f32 = 1.0;
/// The collar's outer slope (0.8: 39°).
const COLLAR_SLOPE: f32 = 0.8;

/// The gingiva abutting an [`Finish::Abutted`] line, `d` mm outside it: level with the line
/// at the line (so the line is the concave junction of chamfer and gingiva), rising smoothly
/// to a rounded crest, then down its outer slope to the gingiva. Smooth everywhere but at
/// the line, as retracted gingiva is.
fn collar(margin_height: f32, d: f32) -> f32 {
    let crest = margin_height + COLLAR_RISE;
    if d <= COLLAR_MM {
        return margin_height
            + COLLAR_RISE * 0.5 * (1.0 - (std::f32::consts::PI * d / COLLAR_MM).cos());
    }
    let e = d - COLLAR_MM;
    if e <= COLLAR_TURN_MM {
        return crest - COLLAR_SLOPE * e * e / (2.0 * COLLAR_TURN_MM);
    }
    crest - COLLAR_SLOPE * (e - 0.5 * COLLAR_TURN_MM)
}

/// How far outside an [`Finish::Abutted`] line its collar reaches before meeting the
/// gingival level, mm.
fn collar_reach(margin_height: f32) -> f32 {
    COLLAR_MM + 0.5 * COLLAR_TURN_MM + (margin_height + COLLAR_RISE) / COLLAR_SLOPE + 0.2
}

/// Arc length of a closed polyline at each vertex, from vertex 0, and the total.
pub fn arc_lengths(line: &[[f32; 3]]) -> (Vec<f32>, f32) {
    let mut acc = Vec::with_capacity(line.len());
    let mut s = 0.0;
    for i in 0..line.len() {
        acc.push(s);
        let (p, q) = (line[i], line[(i + 1) % line.len()]);
        s += (0..3).map(|k| (p[k] - q[k]).powi(2)).sum::<f32>().sqrt();
    }
    (acc, s)
}

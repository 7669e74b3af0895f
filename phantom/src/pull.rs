//! Teeth an impression could pull out, with their truth: the cervical bulge of natural
//! crowns (the height of contour above a narrower neck, so set material locks under it),
//! deep undercut locks on chosen teeth, lost papillae (open embrasures) and chart mobility.
//!
//! The generated surface is a height over the arch domain, so it has no undercut of its own.
//! Undercuts are made by a warp after triangulation: below a tooth's height of contour its
//! wall and the gingiva around it are drawn horizontally towards the tooth's centre. The warp
//! moves every point along its own horizontal ray by an amount that changes slower than the
//! distance along the ray, so the surface never crosses itself.
//!
//! **True depth.** An undercut's depth is the horizontal distance from the survey line (the
//! widest outline of the tooth seen along the withdrawal axis) in to the tooth surface below
//! it. The truth measures it on the delivered, noise-free vertices of the tooth, against the
//! generator's axis (the canonical +Z) and the tooth's own axis, within ±25° of the side's
//! centre: for each point, the widest wall point higher up within ±2° of it is its survey
//! line. That is what the scan can show, before noise, pose and segmentation; the continuous
//! surface's neck lies deeper where a coarse mesh has no vertex in it.

use crate::arch::{ArchCurve, PlacedTooth};
use crate::defects::Placed;
use crate::surface::GridMesh;
use crate::truth::ChartTruth;
use imprint_core::finding::{FindingKind, Severity};
use rand::Rng;

/// Height of contour as a share of the crown height: the widest outline sits here.
const CONTOUR: f32 = 0.55;
/// Below this share of the crown height the neck is drawn in fully.
const NECK: f32 = 0.1;
/// An undercut this deep is a lock (the deepest clasp undercut on a surveyor's scale), mm.
const DEEP: f32 = 0.75;

/// Which side of a tooth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Towards the cheek or lip (`t > 0`).
    Buccal,
    /// Towards the tongue or palate.
    Lingual,
}

impl Side {
    fn sign(self) -> f32 {
        match self {
            Self::Buccal => 1.0,
            Self::Lingual => -1.0,
        }
    }
}

/// The contour of one tooth: how far its neck is drawn in under the height of contour.
#[derive(Debug, Clone, Copy)]
pub struct Contour {
    /// Index into the teeth.
    pub tooth: usize,
    /// Natural draw on the lingual and buccal sides, mm.
    pub natural: [f32; 2],
    /// An injected lock: side and extra draw, mm.
    pub lock: Option<(Side, f32)>,
}

/// What the pull-risk part of a phantom holds.
#[derive(Debug, Default)]
pub struct PullPlan {
    /// Per-tooth contours (empty: no bulge at all).
    pub contours: Vec<Contour>,
    /// Chart mobility given to teeth.
    pub chart: Vec<ChartTruth>,
}

/// Plans the bulge of every natural tooth, `locks` deep undercut locks, `embrasures` lost
/// papillae (marked on the teeth, before triangulation) and `mobile` teeth of mobility II–III
/// (the locked teeth first).
pub fn plan(
    teeth: &mut [PlacedTooth],
    locks: u32,
    embrasures: u32,
    mobile: u32,
    rng: &mut impl Rng,
) -> PullPlan {
    let natural: Vec<usize> = (0..teeth.len())
        .filter(|&i| !teeth[i].missing && teeth[i].prep.is_none())
        .collect();
    let mut contours: Vec<Contour> = natural
        .iter()
        .map(|&tooth| Contour {
            tooth,
            natural: [rng.random_range(0.4..0.6), rng.random_range(0.4..0.6)],
            lock: None,
        })
        .collect();
    // Locks on canines, premolars and molars: an incisor's thin crown has no neck to lock.
    let (mut order, rest): (Vec<usize>, Vec<usize>) =
        (0..contours.len()).partition(|&c| teeth[contours[c].tooth].fdi % 10 >= 3);
    shuffle(&mut order, rng);
    order.extend(rest);
    for &c in order.iter().take(locks as usize) {
        let side = if rng.random_bool(0.5) {
            Side::Buccal
        } else {
            Side::Lingual
        };
        contours[c].lock = Some((side, rng.random_range(0.9..1.3)));
    }
    open_embrasures(teeth, embrasures, rng);
    let mut chart = Vec::new();
    let locked = order.iter().take(locks as usize);
    let others = order.iter().skip(locks as usize);
    for &c in locked.chain(others).take(mobile as usize) {
        chart.push(ChartTruth {
            tooth: teeth[contours[c].tooth].fdi,
            mobility: rng.random_range(2..=3),
        });
    }
    PullPlan { contours, chart }
}

fn shuffle<T>(v: &mut [T], rng: &mut impl Rng) {
    for i in (1..v.len()).rev() {
        v.swap(i, rng.random_range(0..=i));
    }
}

/// Marks `count` neighbouring pairs of natural teeth whose papilla is lost.
fn open_embrasures(teeth: &mut [PlacedTooth], count: u32, rng: &mut impl Rng) {
    let natural = |t: &PlacedTooth| !t.missing && t.prep.is_none();
    let mut pairs: Vec<usize> = (0..teeth.len().saturating_sub(1))
        .filter(|&i| natural(&teeth[i]) && natural(&teeth[i + 1]))
        .collect();
    shuffle(&mut pairs, rng);
    let mut taken: Vec<usize> = Vec::new();
    for i in pairs {
        if taken.len() == count as usize {
            break;
        }
        // Pairs apart, so each open embrasure is its own two teeth.
        if taken.iter().all(|&j| i.abs_diff(j) >= 2) {
            teeth[i].open_next = true;
            taken.push(i);
        }
    }
}

/// How far the contour draws a point in: its domain coordinates, height `z`.
fn draw(c: &Contour, t: &PlacedTooth, u: f32, v: f32, z: f32) -> f32 {
    let (a, b) = (t.md / 2.0, t.bl / 2.0);
    let p = crate::surface::outline_exponent(t.fdi);
    let r = ((u / a).abs().powf(p) + (v / b).abs().powf(p)).powf(1.0 / p);
    // Full strength on the wall, fading inside the crown and out over the gingiva.
    let w = smoothstep((r - 0.6) / 0.25) * (1.0 - smoothstep((r - 1.15) / 0.45));
    let g = smoothstep((CONTOUR * t.height - z) / ((CONTOUR - NECK) * t.height));
    if w <= 0.0 || g <= 0.0 {
        return 0.0;
    }
    let sin = (v / b) / ((u / a).hypot(v / b)).max(1e-6);
    let side = |s: Side| (sin * s.sign()).max(0.0);
    let mut amount =
        c.natural[0] * side(Side::Lingual).powi(2) + c.natural[1] * side(Side::Buccal).powi(2);
    if let Some((s, extra)) = c.lock {
        amount += extra * side(s).powi(4);
    }
    amount * g * w
}

fn smoothstep(x: f32) -> f32 {
    let x = x.clamp(0.0, 1.0);
    x * x * (3.0 - 2.0 * x)
}

/// Where the contours move the domain point `(s, t)` at height `z`.
fn warp_point(teeth: &[PlacedTooth], plan: &PullPlan, s: f32, t: f32, z: f32) -> (f32, f32) {
    let (mut ds, mut dt) = (0.0f32, 0.0f32);
    for c in &plan.contours {
        let tooth = &teeth[c.tooth];
        let (u, v) = (s - tooth.s, t);
        if u.abs() > tooth.md {
            continue;
        }
        let amount = draw(c, tooth, u, v, z);
        let rho = u.hypot(v);
        if amount > 0.0 && rho > 1e-3 {
            ds -= amount * u / rho;
            dt -= amount * v / rho;
        }
    }
    (s + ds, t + dt)
}

/// Applies the contours to the triangulated surface (canonical frame).
pub fn warp(mesh: &mut GridMesh, curve: &ArchCurve, teeth: &[PlacedTooth], plan: &PullPlan) {
    if plan.contours.is_empty() {
        return;
    }
    for (p, d) in mesh.positions.iter_mut().zip(mesh.domain.iter_mut()) {
        let (s, t) = warp_point(teeth, plan, d[0], d[1], p[2]);
        if (s, t) != (d[0], d[1]) {
            *d = [s, t];
            *p = curve.point(s, t, p[2]);
        }
    }
}

/// The truth of the plan: one `pull_risk` per tooth with a deep lock, chart mobility
/// II–III, or an open embrasure beside it.
pub fn truths(
    mesh: &GridMesh,
    curve: &ArchCurve,
    teeth: &[PlacedTooth],
    plan: &PullPlan,
) -> Vec<Placed> {
    let mut out = Vec::new();
    for (i, t) in teeth.iter().enumerate() {
        if t.missing {
            continue;
        }
        let lock = plan
            .contours
            .iter()
            .find(|c| c.tooth == i)
            .and_then(|c| c.lock);
        let mobility = plan
            .chart
            .iter()
            .find(|c| c.tooth == t.fdi)
            .map_or(0, |c| c.mobility);
        let open = t.open_next
            || i.checked_sub(1)
                .is_some_and(|j| teeth[j].open_next && !teeth[j].missing);
        let depth = lock.map_or(0.0, |(side, _)| true_depth(mesh, curve, t, side));
        // A lock is deep from 0.75 mm, the end of the surveyor's clasp scale.
        let locked = depth >= DEEP;
        if !locked && mobility < 2 && !open {
            continue;
        }
        let severity = if mobility >= 3 && locked {
            Severity::Critical
        } else {
            Severity::Major
        };
        let center = curve.point(t.s, 0.0, t.height / 2.0);
        let mut truth = crate::defects::truth(
            format!("P{}", t.fdi),
            FindingKind::PullRisk,
            center,
            t.md,
            depth,
            t.fdi,
        );
        truth.severity = severity;
        out.push(Placed {
            truth,
            vertices: Vec::new(),
            remove: Vec::new(),
        });
    }
    out
}

/// The deepest undercut of `tooth` on `side` (see the module doc), mm.
fn true_depth(mesh: &GridMesh, curve: &ArchCurve, tooth: &PlacedTooth, side: Side) -> f32 {
    let c = curve.point(tooth.s, 0.0, 0.0);
    let out = curve.point(tooth.s, side.sign(), 0.0);
    let facing = (out[1] - c[1]).atan2(out[0] - c[0]);
    // (angle from the side's centre, distance from the tooth's axis, height).
    let mut points: Vec<(f32, f32, f32)> = mesh
        .positions
        .iter()
        .zip(&mesh.labels)
        .filter(|(_, &l)| l == tooth.fdi)
        .map(|(p, _)| {
            let (dx, dy) = (p[0] - c[0], p[1] - c[1]);
            (wrap(dy.atan2(dx) - facing), dx.hypot(dy), p[2])
        })
        .filter(|q| q.0.abs() <= (FAN + WINDOW).to_radians())
        .collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let window = WINDOW.to_radians();
    let wall = 0.8 * tooth.bl.min(tooth.md) / 2.0;
    let mut deepest = 0.0f32;
    // Only the neck, below the height of contour, can lie under the line (not a fossa).
    let neck = CONTOUR * tooth.height;
    for p in points
        .iter()
        .filter(|p| p.0.abs() <= FAN.to_radians() && p.2 < neck)
    {
        let from = points.partition_point(|q| q.0 < p.0 - window);
        let widest = points[from..]
            .iter()
            .take_while(|q| q.0 <= p.0 + window)
            .filter(|q| q.2 > p.2 && q.1 >= wall)
            .map(|q| q.1)
            .fold(f32::MIN, f32::max);
        deepest = deepest.max(widest - p.1);
    }
    deepest
}

/// The side's fan the truth searches, degrees either side of its centre.
const FAN: f32 = 25.0;
/// The survey line over a point is the widest wall point higher up within this angle,
/// degrees.
const WINDOW: f32 = 2.0;

fn wrap(a: f32) -> f32 {
    use std::f32::consts::PI;
    (a + PI).rem_euclid(2.0 * PI) - PI
}

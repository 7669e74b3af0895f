//! The dental arch in the phantom's canonical frame (teeth pointing +Z, gingival level at
//! z = 0, incisors towards +Y): a parabolic arch curve parametrised by arc length, and teeth
//! laid along it by their real mesiodistal widths.

use serde::{Deserialize, Serialize};

pub use imprint_core::tooth::Jaw;

/// Crown dimensions of one tooth type, mm: mesiodistal width, buccolingual width, clinical
/// crown height (textbook means, e.g. Wheeler's; the visible crown is ~80% of the anatomical).
#[derive(Debug, Clone, Copy)]
pub struct ToothSize {
    /// Mesiodistal width.
    pub md: f32,
    /// Buccolingual width.
    pub bl: f32,
    /// Clinical crown height.
    pub height: f32,
}

/// Sizes by position 1 (central incisor) to 8 (third molar).
pub fn tooth_size(jaw: Jaw, position: u8) -> ToothSize {
    let (md, bl, h) = match (jaw, position) {
        (Jaw::Upper, 1) => (8.6, 7.0, 8.5),
        (Jaw::Upper, 2) => (6.6, 6.2, 7.5),
        (Jaw::Upper, 3) => (7.6, 8.0, 8.5),
        (Jaw::Upper, 4) => (7.0, 9.0, 7.0),
        (Jaw::Upper, 5) => (6.6, 9.0, 6.5),
        (Jaw::Upper, 6) => (10.2, 11.0, 6.0),
        (Jaw::Upper, 7) => (9.2, 10.8, 5.8),
        (Jaw::Upper, _) => (8.6, 10.2, 5.5),
        (Jaw::Lower, 1) => (5.3, 6.0, 7.5),
        (Jaw::Lower, 2) => (5.8, 6.3, 7.8),
        (Jaw::Lower, 3) => (6.9, 7.6, 9.0),
        (Jaw::Lower, 4) => (7.0, 7.6, 7.2),
        (Jaw::Lower, 5) => (7.2, 8.2, 6.8),
        (Jaw::Lower, 6) => (11.0, 10.4, 6.0),
        (Jaw::Lower, 7) => (10.5, 10.0, 5.8),
        (Jaw::Lower, _) => (10.0, 9.6, 5.5),
    };
    ToothSize { md, bl, height: h }
}

/// The arch curve `y = depth · (1 − |x / half_width|^2.3)` (a U-shaped, flatter-fronted
/// parabola, closer to measured arch forms), tabulated by arc length from the midline
/// (negative towards −X).
#[derive(Debug, Clone)]
pub struct ArchCurve {
    /// (arc length, x, y) samples, increasing arc length.
    table: Vec<(f32, f32, f32)>,
}

impl ArchCurve {
    /// Tabulates the parabola over `x ∈ [−reach, reach]`.
    pub fn new(half_width: f32, depth: f32, reach: f32) -> Self {
        let y = |x: f32| depth * (1.0 - (x / half_width).abs().powf(2.3));
        let steps = 4000;
        let mut table = Vec::with_capacity(steps + 1);
        let mut s = 0.0f32;
        let mut prev = (-reach, y(-reach));
        for i in 0..=steps {
            let x = -reach + 2.0 * reach * i as f32 / steps as f32;
            let p = (x, y(x));
            s += (p.0 - prev.0).hypot(p.1 - prev.1);
            table.push((s, p.0, p.1));
            prev = p;
        }
        let mid = table[steps / 2].0;
        table.iter_mut().for_each(|e| e.0 -= mid);
        Self { table }
    }

    /// The smallest radius of curvature along the curve, mm: the band across the arch must
    /// stay narrower than this on the inner side, or it would fold over itself.
    pub fn min_radius(&self) -> f32 {
        let step = 20;
        (step..self.table.len() - step)
            .step_by(step)
            .map(|i| {
                let (a, b, c) = (self.table[i - step], self.table[i], self.table[i + step]);
                let (ab, bc) = ((b.1 - a.1, b.2 - a.2), (c.1 - b.1, c.2 - b.2));
                let turn = (ab.0 * bc.1 - ab.1 * bc.0)
                    .atan2(ab.0 * bc.0 + ab.1 * bc.1)
                    .abs();
                (c.0 - a.0) / 2.0 / turn.max(1e-6)
            })
            .fold(f32::INFINITY, f32::min)
    }

    /// Every `step`-th tabulated point `(x, y)`, in order of arc length.
    pub fn points(&self, step: usize) -> Vec<[f32; 2]> {
        self.table
            .iter()
            .step_by(step.max(1))
            .map(|e| [e.1, e.2])
            .collect()
    }

    /// Arc-length range covered, `(min, max)`.
    pub fn range(&self) -> (f32, f32) {
        (self.table[0].0, self.table[self.table.len() - 1].0)
    }

    /// Point and unit tangent (towards increasing s) at arc length `s`.
    pub fn at(&self, s: f32) -> ([f32; 2], [f32; 2]) {
        let i = self
            .table
            .partition_point(|e| e.0 < s)
            .clamp(1, self.table.len() - 1);
        let (a, b) = (self.table[i - 1], self.table[i]);
        let f = if b.0 > a.0 {
            ((s - a.0) / (b.0 - a.0)).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let p = [a.1 + f * (b.1 - a.1), a.2 + f * (b.2 - a.2)];
        let len = (b.1 - a.1).hypot(b.2 - a.2).max(f32::MIN_POSITIVE);
        (p, [(b.1 - a.1) / len, (b.2 - a.2) / len])
    }

    /// The canonical-frame point at arc length `s`, `t` mm towards buccal, height `z`.
    pub fn point(&self, s: f32, t: f32, z: f32) -> [f32; 3] {
        let (p, tan) = self.at(s);
        // Buccal is to the left of the direction of travel seen from +Z... for this
        // parabola (opening towards −Y) the outward normal is (−tan.y, tan.x).
        let n = [-tan[1], tan[0]];
        [p[0] + t * n[0], p[1] + t * n[1], z]
    }
}

/// One tooth placed on the arch.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlacedTooth {
    /// FDI number.
    pub fdi: u8,
    /// Arc length of its centre.
    pub s: f32,
    /// Mesiodistal width, mm.
    pub md: f32,
    /// Buccolingual width, mm.
    pub bl: f32,
    /// Clinical crown height, mm.
    pub height: f32,
    /// Left out of the scan (a gap of its width stays).
    pub missing: bool,
    /// Prepared for a crown, when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prep: Option<Prep>,
    /// The papilla between this tooth and the next one along the arch is lost: an open
    /// embrasure (a "black triangle") that set material locks into.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub open_next: bool,
    /// How much the foot of its walls is eased from vertical (0: vertical, the default; see
    /// [`crate::surface::wall_profile`]). Set for phantoms with scanner-like walls.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub wall_ease: f32,
    /// How its occlusal anatomy departs from the template (and so from its partner across
    /// the midline); `None`: the template itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asym: Option<Asymmetry>,
}

/// One crown's departure from the template's occlusal anatomy.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Asymmetry {
    /// Each cusp's height, relative (1 = the template's), in the template's cusp order.
    pub cusps: [f32; 4],
    /// Shift of every cusp, in units of the crown's half widths (mesiodistal, buccolingual).
    pub shift: [f32; 2],
    /// The fissures' depth, relative.
    pub fissures: f32,
}

impl Asymmetry {
    /// No departure: the template's anatomy.
    pub const TEMPLATE: Self = Self {
        cusps: [1.0; 4],
        shift: [0.0; 2],
        fissures: 1.0,
    };

    /// Drawn from `rng`: cusps ±15 %, shifts ±5 % of the crown's width, fissures ±20 %.
    pub fn random(rng: &mut impl rand::Rng) -> Self {
        Self {
            cusps: std::array::from_fn(|_| 1.0 + rng.random_range(-0.15..0.15f32)),
            shift: std::array::from_fn(|_| rng.random_range(-0.1..0.1f32)),
            fissures: 1.0 + rng.random_range(-0.2..0.2f32),
        }
    }
}

fn is_zero(x: &f32) -> bool {
    *x == 0.0
}

/// The finish line's form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Finish {
    /// A flat ledge at a right angle to the axial wall.
    Shoulder,
    /// A bevel (about 40°) from the margin up to the axial wall.
    Chamfer,
    /// A steep chamfer (about 45° at the line) with the gingiva abutting the line
    /// (equigingival): no root is exposed, and the line is the concave junction of the
    /// chamfer and the gingiva, as in the real finish lines the project has.
    Abutted,
}

/// A crown preparation: the tooth reduced inside its outline, ending at a finish line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prep {
    /// Finish line form.
    pub finish: Finish,
    /// Height of the finish line above the gingival level, mm.
    pub margin_height: f32,
    /// Width of the ledge or bevel (axial reduction), mm.
    pub reduction: f32,
    /// Flaws along the finish line.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flaws: Vec<crate::prep::MarginFlaw>,
    /// A crisp occlusal-axial line angle (see [`crate::DefectMix::sharp`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sharp: bool,
}

/// FDI quadrants on the −arc-length and +arc-length sides of the midline in the canonical
/// frame: chosen so that, after the upper jaw is turned teeth-down, the patient's right is
/// on the same side for both jaws.
pub fn quadrants(jaw: Jaw) -> (u8, u8) {
    match jaw {
        Jaw::Upper => (1, 2),
        Jaw::Lower => (3, 4),
    }
}

/// Lays `positions` (1..=8) of each side along the arch from the midline, contact to contact.
pub fn place_teeth(jaw: Jaw, positions: u8, missing: &[u8]) -> Vec<PlacedTooth> {
    let (neg, pos) = quadrants(jaw);
    let mut teeth = Vec::new();
    for (quadrant, sign) in [(neg, -1.0f32), (pos, 1.0f32)] {
        let mut s = 0.0f32;
        for p in 1..=positions {
            let size = tooth_size(jaw, p);
            let fdi = quadrant * 10 + p;
            teeth.push(PlacedTooth {
                fdi,
                s: sign * (s + size.md / 2.0),
                md: size.md,
                bl: size.bl,
                height: size.height,
                missing: missing.contains(&fdi),
                prep: None,
                open_next: false,
                wall_ease: 0.0,
                asym: None,
            });
            s += size.md;
        }
    }
    teeth.sort_by(|a, b| a.s.total_cmp(&b.s));
    teeth
}

//! The phantom's surface as a height over the arch's (arc length `s`, across `t`) domain, and
//! its triangulation: a jittered grid with randomly chosen diagonals, so nothing downstream
//! can rely on a regular lattice.

use crate::arch::{ArchCurve, PlacedTooth};
use rand::Rng;

/// Half the width of the scanned band across the arch, mm (teeth plus gingiva and some
/// vestibule on both sides). The generator narrows the lingual side where the arch curves
/// tighter than this.
pub const HALF_WIDTH: f32 = 12.0;
/// The scanned band across the arch: how far it reaches lingually (`t < 0`) and buccally.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Band {
    /// Lingual reach, mm.
    pub lingual: f32,
    /// Buccal reach, mm.
    pub buccal: f32,
}

impl Band {
    /// The band for a curve: `HALF_WIDTH` each side, the lingual side kept within 80% of the
    /// curve's tightest radius so the surface never folds over itself.
    pub fn for_curve(curve: &ArchCurve) -> Self {
        Self {
            lingual: HALF_WIDTH.min(0.8 * curve.min_radius()),
            buccal: HALF_WIDTH,
        }
    }

    /// Reach on the side of `t`.
    pub fn reach(&self, t: f32) -> f32 {
        if t < 0.0 {
            self.lingual
        } else {
            self.buccal
        }
    }
}

/// Scanned length beyond the last tooth on each side, mm.
pub const END_MARGIN: f32 = 4.0;

/// Smooth maximum (polynomial): a rounded crease of width ~`k` where two surfaces meet.
pub(crate) fn smooth_max(a: f32, b: f32, k: f32) -> f32 {
    let h = (k - (a - b).abs()).max(0.0) / k;
    a.max(b) + h * h * k / 4.0
}

/// The ease of a wall's foot on phantoms with scanner-like walls: see [`wall_profile`].
pub const WALL_EASE: f32 = 0.1;

/// A wall's rise from its foot (`x = 1`, height 0) to its top (`x = 0`, height 1):
/// `(1 − xᵉ)ᵖ` with `p < 1`, a boxy crown. Its foot stands vertical (an infinite slope)
/// unless eased by `ease` > 0: [`WALL_EASE`] gives a finite slope (~85° on a molar), which
/// the triangulation can refine until a wall is sampled as evenly as a flat (`refine`).
pub(crate) fn wall_profile(x: f32, e: f32, p: f32, ease: f32) -> f32 {
    let floor = ease.powf(p);
    let top = (1.0 + ease).powf(p) - floor;
    (((1.0 - x.powf(e)).max(0.0) + ease).powf(p) - floor).max(0.0) / top
}

/// The superellipse exponent of a tooth's outline.
pub fn outline_exponent(fdi: u8) -> f32 {
    if fdi % 10 <= 3 {
        2.6
    } else {
        3.2
    }
}

/// The crown height above the gingival margin at local coordinates (`u` mesiodistal, `v`
/// buccolingual) of a tooth, or `None` outside its footprint (a prepared tooth's footprint
/// reaches past its outline by the root surface below the finish line).
fn crown(t: &PlacedTooth, u: f32, v: f32) -> Option<f32> {
    let (a, b) = (t.md / 2.0, t.bl / 2.0);
    let position = t.fdi % 10;
    let p = outline_exponent(t.fdi);
    if let Some(prep) = &t.prep {
        return crate::prep::height(t, prep, u, v);
    }
    let r = ((u / a).abs().powf(p) + (v / b).abs().powf(p)).powf(1.0 / p);
    if r >= 1.0 {
        return None;
    }
    // Walls rise over the outer ~20% of the footprint, then a gently domed top.
    let wall = wall_profile(r, 5.0, 0.45, t.wall_ease);
    let mut h = t.height * wall;
    let occlusal = (1.0 - r * r).max(0.0);
    match position {
        1 | 2 => h -= 1.2 * (v / b).powi(2) * occlusal, // incisal edge: thin labiolingually
        3 => h += 0.8 * (-(u * u + v * v) / (0.3 * a * a)).exp(), // cusp tip
        _ => h += occlusal_anatomy(position, u / a, v / b, t.asym.as_ref()) * occlusal,
    }
    Some(h)
}

/// Cusps and fissures of premolars and molars in unit footprint coordinates, as the
/// template has them or as `asym` varies them.
fn occlusal_anatomy(position: u8, x: f32, y: f32, asym: Option<&crate::arch::Asymmetry>) -> f32 {
    let crate::arch::Asymmetry {
        cusps: k,
        shift,
        fissures,
    } = asym.copied().unwrap_or(crate::arch::Asymmetry::TEMPLATE);
    let bump = |cx: f32, cy: f32, amp: f32| {
        let (dx, dy) = (x - cx - shift[0], y - cy - shift[1]);
        amp * (-(dx * dx + dy * dy) / 0.09).exp()
    };
    let cusps = if position <= 5 {
        bump(0.0, 0.45, k[0]) + bump(0.0, -0.45, 0.8 * k[1])
    } else {
        bump(0.45, 0.45, k[0])
            + bump(-0.45, 0.45, k[1])
            + bump(0.45, -0.45, 0.9 * k[2])
            + bump(-0.45, -0.45, 0.9 * k[3])
    };
    let central = -0.7 * fissures * (-(y / 0.12).powi(2)).exp() * (1.0 - x * x).max(0.0);
    let transverse = if position >= 6 {
        -0.4 * fissures * (-(x / 0.1).powi(2)).exp() * (1.0 - y * y).max(0.0)
    } else {
        0.0
    };
    cusps + central + transverse
}

/// The gingiva: a ridge along the arch falling into the vestibules, with papillae between
/// neighbouring teeth.
fn gingiva(teeth: &[PlacedTooth], band: &Band, s: f32, t: f32) -> f32 {
    let attached = 5.0f32.min(0.6 * band.reach(t));
    let slope = ((t.abs() - attached).max(0.0) / (band.reach(t) - attached)).powi(2);
    let ridge = -7.0 * slope;
    let papillae: f32 = teeth
        .windows(2)
        // No papilla beside a preparation: the gingiva is retracted to expose the margin.
        .filter(|w| !w[0].missing && !w[1].missing && w[0].prep.is_none() && w[1].prep.is_none())
        .filter(|w| !w[0].open_next)
        .map(|w| {
            let contact = (w[0].s + w[0].md / 2.0 + w[1].s - w[1].md / 2.0) / 2.0;
            2.5 * (-((s - contact) / 1.0).powi(2)).exp() * (-(t / 3.0).powi(2)).exp()
        })
        .sum();
    ridge + papillae
}

/// What the surface is at one domain point: its height and the tooth it belongs to.
pub struct Sample {
    /// Height above the gingival margin level, mm.
    pub z: f32,
    /// FDI of the crown there, 0 for gingiva.
    pub fdi: u8,
}

/// Samples the surface at `(s, t)`.
pub fn sample(teeth: &[PlacedTooth], band: &Band, s: f32, t: f32) -> Sample {
    let g = gingiva(teeth, band, s, t);
    let mut best: Option<(f32, &PlacedTooth)> = None;
    let near = || {
        teeth
            .iter()
            .filter(|x| !x.missing && (x.s - s).abs() < x.md)
    };
    for tooth in near() {
        if beyond_own_line(tooth, near(), s, t) {
            continue;
        }
        if let Some(h) = crown(tooth, s - tooth.s, t) {
            if best.is_none_or(|b| h > b.0) {
                best = Some((h, tooth));
            }
        }
    }
    let Some((h, tooth)) = best else {
        return Sample { z: g, fdi: 0 };
    };
    let z = smooth_max(g, h, 0.15);
    // The crown owns the point once it stands clear of the gingival crease; outside an
    // abutted finish line the surface is the gingival collar raised against the line, not
    // the tooth.
    let fdi = if h > g + 0.05 && !on_collar(tooth, s, t) {
        tooth.fdi
    } else {
        0
    };
    Sample { z, fdi }
}

/// How much of the crowns' fine detail shows at `(s, t)`: 0 on the gingiva and on prepared
/// teeth (cut smooth), rising to 1 over the first 0.4 mm of natural crown above the gingiva.
pub fn detail_weight(teeth: &[PlacedTooth], band: &Band, s: f32, t: f32) -> f32 {
    let g = gingiva(teeth, band, s, t);
    let mut best: Option<(f32, bool)> = None;
    for tooth in teeth
        .iter()
        .filter(|x| !x.missing && (x.s - s).abs() < x.md)
    {
        if let Some(h) = crown(tooth, s - tooth.s, t) {
            if best.is_none_or(|b| h > b.0) {
                best = Some((h, tooth.prep.is_some()));
            }
        }
    }
    match best {
        Some((h, false)) => ((h - g) / 0.4).clamp(0.0, 1.0),
        _ => 0.0,
    }
}

/// The point lies outside `tooth`'s [`Finish::Abutted`](crate::arch::Finish::Abutted)
/// finish line: on the gingival collar that abuts it.
fn on_collar(tooth: &PlacedTooth, s: f32, t: f32) -> bool {
    tooth
        .prep
        .as_ref()
        .is_some_and(|p| p.finish == crate::arch::Finish::Abutted)
        && crate::prep::outside(tooth, s - tooth.s, t).is_some_and(|d| d > 0.0)
}

/// The point lies outside `tooth`'s finish line but nearer another preparation's: the
/// gingiva there abuts the other line, and `tooth`'s collar or root must not rise over it
/// (two preparations side by side share the interdental gingiva, each line keeping its own
/// side, as in the mouth).
fn beyond_own_line<'a>(
    tooth: &PlacedTooth,
    mut others: impl Iterator<Item = &'a PlacedTooth>,
    s: f32,
    t: f32,
) -> bool {
    let Some(d) = crate::prep::outside(tooth, s - tooth.s, t) else {
        return false;
    };
    d > 0.0
        && others.any(|o| {
            o.fdi != tooth.fdi && crate::prep::outside(o, s - o.s, t).is_some_and(|e| e < d)
        })
}

/// A triangulated domain grid: positions in the canonical frame, triangles, per-vertex FDI,
/// and each vertex's domain coordinates.
pub struct GridMesh {
    /// Positions, canonical frame.
    pub positions: Vec<[f32; 3]>,
    /// Triangles, wound so normals point out of the mouth (+Z side).
    pub triangles: Vec<[u32; 3]>,
    /// FDI per vertex (0 = gingiva).
    pub labels: Vec<u8>,
    /// (s, t) per vertex.
    pub domain: Vec<[f32; 2]>,
}

/// The grid spacing that gives about `asked` triangles once steep walls are refined
/// (`even_walls`): the
/// plan's spacing `plan` (which would give `asked` on a flat domain), widened by how much
/// a trial at twice that spacing grew in refinement. Walls and slopes add surface, about as
/// much again as the plan on a full arch. The trial draws from a copy of `rng`.
pub fn spacing_for<R: Rng + Clone>(
    curve: &ArchCurve,
    teeth: &[PlacedTooth],
    band: &Band,
    domain: (f32, f32),
    plan: f32,
    asked: f32,
    rng: &R,
) -> f32 {
    let trial = triangulate(
        curve,
        teeth,
        band,
        domain,
        2.0 * plan,
        true,
        &mut rng.clone(),
    );
    let grown = 4.0 * trial.triangles.len() as f32 / asked;
    plan * grown.max(1.0).sqrt()
}

/// Edges longer than this many grid spacings on a steep wall are split (see `refine`).
pub const STEEP_LIMIT: f32 = 1.8;

/// Triangulates `[s0, s1] × [−lingual, buccal]` with spacing `h`, jittering interior points
/// by up to ±30% of `h` and choosing each quad's diagonal at random. With `even_walls`, then
/// splits the edges that a steep wall stretches beyond `STEEP_LIMIT` spacings and flips
/// them to even triangles, as a scanner samples a wall as densely as a flat; without, a
/// steep wall is spanned by stretched triangles.
pub fn triangulate(
    curve: &ArchCurve,
    teeth: &[PlacedTooth],
    band: &Band,
    (s0, s1): (f32, f32),
    h: f32,
    even_walls: bool,
    rng: &mut impl Rng,
) -> GridMesh {
    let width = band.lingual + band.buccal;
    let nu = ((s1 - s0) / h).ceil().max(2.0) as usize;
    let nv = (width / h).ceil().max(2.0) as usize;
    let (du, dv) = ((s1 - s0) / nu as f32, width / nv as f32);
    let mut domain = Vec::with_capacity((nu + 1) * (nv + 1));
    for j in 0..=nv {
        for i in 0..=nu {
            let interior = i > 0 && i < nu && j > 0 && j < nv;
            let (js, jt) = if interior {
                (rng.random_range(-0.3..0.3), rng.random_range(-0.3..0.3))
            } else {
                (0.0, 0.0)
            };
            domain.push([
                s0 + (i as f32 + js) * du,
                -band.lingual + (j as f32 + jt) * dv,
            ]);
        }
    }
    use rayon::prelude::*;
    let samples: Vec<(f32, u8)> = domain
        .par_iter()
        .map(|&[s, t]| {
            let x = sample(teeth, band, s, t);
            (x.z, x.fdi)
        })
        .collect();
    let positions = domain
        .iter()
        .zip(&samples)
        .map(|(&[s, t], &(z, _))| curve.point(s, t, z))
        .collect();
    let labels = samples.iter().map(|x| x.1).collect();
    let id = |i: usize, j: usize| (j * (nu + 1) + i) as u32;
    let mut triangles = Vec::with_capacity(2 * nu * nv);
    for j in 0..nv {
        for i in 0..nu {
            let (a, b, c, d) = (id(i, j), id(i + 1, j), id(i + 1, j + 1), id(i, j + 1));
            if rng.random_bool(0.5) {
                triangles.extend([[a, b, c], [a, c, d]]);
            } else {
                triangles.extend([[a, b, d], [b, c, d]]);
            }
        }
    }
    let mut mesh = GridMesh {
        positions,
        triangles,
        labels,
        domain,
    };
    let at = |s: f32, t: f32| {
        let x = sample(teeth, band, s, t);
        (curve.point(s, t, x.z), x.fdi)
    };
    if even_walls {
        crate::refine::steep_edges(&mut mesh, STEEP_LIMIT * h, &at);
    }
    mesh
}

/// The true finish line of a prepared tooth: `points` samples of its outline at the margin,
/// in the canonical frame.
pub fn margin_line(
    curve: &ArchCurve,
    teeth: &[PlacedTooth],
    band: &Band,
    tooth: &PlacedTooth,
    points: usize,
) -> Vec<[f32; 3]> {
    let (a, b) = crate::prep::outline(tooth);
    let p = outline_exponent(tooth.fdi);
    (0..points)
        .map(|k| {
            let (u, v) = crate::prep::outline_point(k as f32 / points as f32, a, b, p);
            // The finish line's own edge, at the margin height (under any tissue lying
            // over it).
            let (su, tv) = (tooth.s + u, v);
            let z = tooth
                .prep
                .as_ref()
                .map_or_else(|| sample(teeth, band, su, tv).z, |p| p.margin_height);
            curve.point(su, tv, z)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::Asymmetry;
    use rand::SeedableRng;

    #[test]
    fn an_unequal_crown_departs_from_the_template_and_the_template_is_kept() {
        let same = Asymmetry::TEMPLATE;
        let drawn = Asymmetry::random(&mut rand_chacha::ChaCha8Rng::seed_from_u64(7));
        let (mut kept, mut moved) = (0.0f32, 0.0f32);
        for i in 0..21 {
            for j in 0..21 {
                let (x, y) = (i as f32 / 10.0 - 1.0, j as f32 / 10.0 - 1.0);
                let template = occlusal_anatomy(6, x, y, None);
                kept = kept.max((occlusal_anatomy(6, x, y, Some(&same)) - template).abs());
                moved = moved.max((occlusal_anatomy(6, x, y, Some(&drawn)) - template).abs());
            }
        }
        assert!(kept < 1e-6, "{kept}");
        assert!(moved > 0.05 && moved < 0.6, "{moved}");
    }
}

//! # imprint-phantom
//!
//! Ground truth for Imprint: synthetic scans of dental arches with known, injected defects
//! (no public dataset of annotated impression defects exists), and the scorer that measures an
//! analyzer's report against that truth.
//!
//! A phantom is deterministic per seed: the same seed and options give the same bytes.
//!
//! ```
//! use imprint_phantom::{generate, PhantomSpec};
//! let phantom = generate(&PhantomSpec { seed: 7, triangles: 20_000, ..Default::default() });
//! assert!(phantom.scan.triangle_count() > 15_000);
//! assert_eq!(phantom.truth.seed, 7);
//! ```

pub mod arch;
pub mod bite;
pub mod bitescore;
pub mod defects;
pub mod drags;
pub mod eval;
pub mod mapscore;
pub mod marginscore;
mod output;
pub mod prep;
pub mod pull;
mod refine;
pub mod relief;
pub mod suite;
pub mod surface;
pub mod truth;

pub use arch::Jaw;
pub use defects::DefectMix;
pub use output::write;
pub use truth::{ExpectedDecision, TrueDefect, Truth};

use arch::{place_teeth, ArchCurve};
use imprint_core::Scan;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// What was scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scanned {
    /// An intraoral scan: no material defects (no voids, nodules).
    Intraoral,
    /// A stone cast: bubbles in the impression show as nodules, bubbles in the stone as voids.
    #[default]
    Cast,
    /// The impression itself (the negative); the delivered surface is turned inside out.
    Impression,
}

/// What to generate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhantomSpec {
    /// Seed: everything random follows from it.
    pub seed: u64,
    /// Approximate triangle count.
    pub triangles: usize,
    /// Jaw (random from the seed when `None`).
    pub jaw: Option<Jaw>,
    /// Defect mix (random from the seed when `None`).
    pub defects: Option<DefectMix>,
    /// What was scanned.
    pub scanned: Scanned,
    /// Apply a random rigid pose.
    pub random_pose: bool,
}

impl Default for PhantomSpec {
    fn default() -> Self {
        Self {
            seed: 0,
            triangles: 200_000,
            jaw: None,
            defects: None,
            scanned: Scanned::Cast,
            random_pose: true,
        }
    }
}

/// A generated scan and its truth.
pub struct Phantom {
    /// The scan as a lab would receive it (labels attached, FDI per vertex).
    pub scan: Scan,
    /// What it really contains.
    pub truth: Truth,
}

/// Generates a phantom.
pub fn generate(spec: &PhantomSpec) -> Phantom {
    generate_arch(spec, None)
}

/// Generates a phantom on a given arch form (drawn from the seed when `None`): the bite
/// phantom makes its upper arch wider and deeper than its lower one, as real arches are.
pub(crate) fn generate_arch(spec: &PhantomSpec, shape: Option<truth::ArchShape>) -> Phantom {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let jaw = spec.jaw.unwrap_or(if rng.random_bool(0.5) {
        Jaw::Upper
    } else {
        Jaw::Lower
    });
    let positions = if rng.random_bool(0.3) { 8 } else { 7 };
    let missing = pick_missing(jaw, positions, &mut rng);
    let mut teeth = place_teeth(jaw, positions, &missing);
    let mix = spec.defects.unwrap_or_else(|| DefectMix::random(&mut rng));
    prepare_teeth(&mut teeth, mix.preparations, mix.margin_flaws, &mut rng);
    // After every random draw, so the other defects of a seed stay where they were.
    for t in teeth
        .iter_mut()
        .filter_map(|t| t.prep.as_mut())
        .take(mix.abutted as usize)
    {
        t.finish = arch::Finish::Abutted;
    }
    shape_preparations(&mut teeth, &mix);
    if mix.asym > 0 {
        // Its own stream, so the rest of a seed stays where it was.
        let mut asym_rng = ChaCha8Rng::seed_from_u64(spec.seed ^ 0x6173_796d);
        for t in teeth
            .iter_mut()
            .filter(|t| t.prep.is_none() && t.fdi % 10 >= 4)
        {
            t.asym = Some(arch::Asymmetry::random(&mut asym_rng));
        }
    }
    // Its own stream, so the rest of a seed stays where it was without pull-risk parts.
    let mut pull_rng = ChaCha8Rng::seed_from_u64(spec.seed ^ 0x7075_6c6c);
    let pull_plan = if mix.has_pull() {
        pull::plan(
            &mut teeth,
            mix.locks,
            mix.embrasures,
            mix.mobile,
            &mut pull_rng,
        )
    } else {
        pull::PullPlan::default()
    };
    let (half_width, depth) = match jaw {
        Jaw::Upper => (rng.random_range(25.0..29.0), rng.random_range(36.0..42.0)),
        Jaw::Lower => (rng.random_range(22.0..26.0), rng.random_range(32.0..38.0)),
    };
    let (half_width, depth) = shape.map_or((half_width, depth), |a| (a.half_width, a.depth));
    let curve = ArchCurve::new(half_width, depth, half_width * 1.6);
    let first = teeth.first().map_or(0.0, |t| t.s - t.md / 2.0);
    let last = teeth.last().map_or(0.0, |t| t.s + t.md / 2.0);
    let domain = (first - surface::END_MARGIN, last + surface::END_MARGIN);
    let band = surface::Band::for_curve(&curve);
    let area = (domain.1 - domain.0) * (band.lingual + band.buccal);
    let asked = spec.triangles.max(1000) as f32;
    let plan = (2.0 * area / asked).sqrt();
    let even_walls = mix.walls > 0;
    let spacing = if even_walls {
        for t in &mut teeth {
            t.wall_ease = surface::WALL_EASE;
        }
        surface::spacing_for(&curve, &teeth, &band, domain, plan, asked, &rng)
    } else {
        plan
    };
    let mut mesh =
        surface::triangulate(&curve, &teeth, &band, domain, spacing, even_walls, &mut rng);
    pull::warp(&mut mesh, &curve, &teeth, &pull_plan);
    let normals = imprint_core::derived::vertex_normals(&mesh.positions, &mesh.triangles);
    let mix = if spec.scanned == Scanned::Intraoral {
        // No material and no tray touch the teeth in an intraoral scan.
        DefectMix {
            voids: 0,
            nodules: 0,
            drags: 0,
            ..mix
        }
    } else {
        mix
    };
    // Its own stream, so a seed without detail stays what it was.
    let relief = mix.has_relief().then(|| {
        let relief =
            relief::Relief::random(&mut ChaCha8Rng::seed_from_u64(spec.seed ^ 0x7265_6c66));
        let shown = relief::apply(&mut mesh, &normals, &relief, |s, t| {
            surface::detail_weight(&teeth, &band, s, t)
        });
        (relief, shown)
    });
    let margins: Vec<(u8, arch::Finish, Vec<[f32; 3]>)> = teeth
        .iter()
        .filter_map(|t| {
            Some((
                t.fdi,
                t.prep.as_ref()?.finish,
                surface::margin_line(&curve, &teeth, &band, t, MARGIN_POINTS),
            ))
        })
        .collect();
    let mut flawed = flaw_truths(&mesh, &teeth, &margins);
    flawed.extend(pull::truths(&mesh, &curve, &teeth, &pull_plan));
    let surface = |s: f32, t: f32| curve.point(s, t, surface::sample(&teeth, &band, s, t).z);
    let ground = defects::Ground {
        surface: &surface,
        band: &band,
        domain,
        relief: relief.as_ref().map(|(r, w)| (r, w.as_slice())),
    };
    let placed = defects::inject(&mut mesh, &normals, &ground, &mix, flawed, &mut rng);
    // Sheets copied by double surfaces add vertices: they take their own normals.
    let mut normals = normals;
    if mesh.positions.len() > normals.len() {
        let fresh = imprint_core::derived::vertex_normals(&mesh.positions, &mesh.triangles);
        normals.extend_from_slice(&fresh[normals.len()..]);
    }
    let noise_um = rng.random_range(5.0..15.0f32);
    add_noise(&mut mesh.positions, &normals, noise_um / 1000.0, &mut rng);
    let pose = pose_for(jaw, spec.random_pose, &mut rng);
    let parts = output::Parts {
        jaw,
        teeth,
        mesh,
        placed,
        margins,
        noise_um,
        pose,
        arch: truth::ArchShape { half_width, depth },
        chart: pull_plan.chart,
    };
    output::assemble(spec, parts)
}

/// Raises `mix.supra` of the non-abutted preparations' lines to 1.5–2.5 mm above the
/// gingiva (the drawn 0.5–1.2 mm mapped onto that range, so no random draw is added) and
/// gives every preparation a crisp line angle when `mix.sharp` asks for it.
fn shape_preparations(teeth: &mut [arch::PlacedTooth], mix: &DefectMix) {
    let preps = teeth.iter_mut().filter_map(|t| t.prep.as_mut());
    for prep in preps
        .filter(|p| p.finish != arch::Finish::Abutted)
        .take(mix.supra as usize)
    {
        prep.margin_height = 1.5 + (prep.margin_height - 0.5) / 0.7;
    }
    for prep in teeth.iter_mut().filter_map(|t| t.prep.as_mut()) {
        prep.sharp = mix.sharp > 0;
    }
}

/// Prepares `count` premolars or molars for crowns: shoulder or chamfer, the finish line
/// 0.5–1.2 mm above the gingival level, 0.8–1.2 mm of axial reduction; then lays `flaws`
/// margin flaws (tissue, blur or hole, drawn in turn) on the prepared teeth, apart from
/// each other.
fn prepare_teeth(teeth: &mut [arch::PlacedTooth], count: u32, flaws: u32, rng: &mut impl Rng) {
    let mut prepared = Vec::new();
    for _ in 0..count {
        let candidates: Vec<usize> = (0..teeth.len())
            .filter(|&i| !teeth[i].missing && teeth[i].prep.is_none() && teeth[i].fdi % 10 >= 4)
            .collect();
        if candidates.is_empty() {
            break;
        }
        let i = candidates[rng.random_range(0..candidates.len())];
        prepared.push(i);
        teeth[i].prep = Some(arch::Prep {
            finish: if rng.random_bool(0.5) {
                arch::Finish::Shoulder
            } else {
                arch::Finish::Chamfer
            },
            margin_height: rng.random_range(0.5..1.2),
            reduction: rng.random_range(0.8..1.2),
            flaws: Vec::new(),
            sharp: false,
        });
    }
    if prepared.is_empty() || flaws == 0 {
        return;
    }
    let kinds = [
        prep::FlawKind::Tissue,
        prep::FlawKind::Blur,
        prep::FlawKind::Hole,
    ];
    let first = rng.random_range(0..kinds.len());
    for n in 0..flaws as usize {
        let i = prepared[rng.random_range(0..prepared.len())];
        let t = &teeth[i];
        let perimeter = outline_perimeter(t);
        let kind = kinds[(first + n) % kinds.len()];
        let Some(prep) = teeth[i].prep.as_mut() else {
            continue;
        };
        // Keep flaws 2 mm of line apart, so each is one defect.
        let gap = 2.0 / perimeter;
        for _ in 0..50 {
            let flaw = prep::MarginFlaw::random(kind, perimeter, rng);
            // Disjoint on the circle: the new flaw starts after `o` ends and ends before
            // `o` starts again, `gap` clear at both ends.
            let clear = prep.flaws.iter().all(|o| {
                let free = (o.from - o.to).rem_euclid(1.0);
                let start = (flaw.from - o.to).rem_euclid(1.0);
                start > gap && start + (flaw.to - flaw.from) + gap < free
            });
            if clear {
                prep.flaws.push(flaw);
                break;
            }
        }
    }
}

/// Points of a true margin line, evenly spaced in outline fraction.
const MARGIN_POINTS: usize = 400;

/// The truth of every margin flaw: where it lies along its true line (arc from the line's
/// first point), and for a hole the missing patch itself (a `hole` as well).
fn flaw_truths(
    mesh: &surface::GridMesh,
    teeth: &[arch::PlacedTooth],
    margins: &[(u8, arch::Finish, Vec<[f32; 3]>)],
) -> Vec<defects::Placed> {
    use imprint_core::finding::{FindingKind, Severity};
    let mut out = Vec::new();
    for (tooth, _, line) in margins {
        let Some(prep) = teeth
            .iter()
            .find(|t| t.fdi == *tooth)
            .and_then(|t| t.prep.as_ref())
        else {
            continue;
        };
        let (acc, total) = prep::arc_lengths(line);
        let arc_at = |f: f32| {
            let x = f.rem_euclid(1.0) * line.len() as f32;
            let (i, w) = (x.floor() as usize % line.len(), x.fract());
            let next = if i + 1 == line.len() {
                total
            } else {
                acc[i + 1]
            };
            acc[i] + w * (next - acc[i])
        };
        let point_at =
            |f: f32| line[(f.rem_euclid(1.0) * line.len() as f32).round() as usize % line.len()];
        for (n, flaw) in prep.flaws.iter().enumerate() {
            let id = format!("M{tooth}.{}", n + 1);
            let mid = point_at((flaw.from + flaw.to) / 2.0);
            let (kind, arc) = match flaw.kind {
                prep::FlawKind::Tissue => (
                    FindingKind::MarginTissue,
                    [arc_at(flaw.from), arc_at(flaw.to)],
                ),
                prep::FlawKind::Blur => (
                    FindingKind::MarginBlur,
                    [arc_at(flaw.from), arc_at(flaw.to)],
                ),
                prep::FlawKind::Hole => {
                    let c = arc_at(flaw.from);
                    (
                        FindingKind::MarginHole,
                        [c - flaw.strength, c + flaw.strength],
                    )
                }
            };
            if flaw.kind == prep::FlawKind::Hole {
                let nearest = (0..mesh.positions.len()).min_by(|&a, &b| {
                    dist2(mesh.positions[a], mid).total_cmp(&dist2(mesh.positions[b], mid))
                });
                if let Some(v) = nearest {
                    let mut hole = defects::hole(mesh, v as u32, flaw.strength, format!("{id}h"));
                    hole.truth.tooth = Some(*tooth);
                    out.push(hole);
                }
            }
            let size = (arc[1] - arc[0]).rem_euclid(total);
            let mut truth = defects::truth(id, kind, mid, size, 0.0, *tooth);
            truth.severity = Severity::Critical;
            truth.arc = Some([arc[0].rem_euclid(total), arc[1].rem_euclid(total)]);
            out.push(defects::Placed {
                truth,
                vertices: Vec::new(),
                remove: Vec::new(),
            });
        }
    }
    out
}

fn dist2(a: [f32; 3], b: [f32; 3]) -> f32 {
    (0..3).map(|k| (a[k] - b[k]).powi(2)).sum()
}

/// Perimeter of a prepared tooth's finish line, mm.
fn outline_perimeter(t: &arch::PlacedTooth) -> f32 {
    let p = surface::outline_exponent(t.fdi);
    let n = 256;
    let (a, b) = prep::outline(t);
    let point = |k: usize| prep::outline_point(k as f32 / n as f32, a, b, p);
    (0..n)
        .map(|k| {
            let ((u0, v0), (u1, v1)) = (point(k), point((k + 1) % n));
            ((u1 - u0).powi(2) + (v1 - v0).powi(2)).sqrt()
        })
        .sum()
}

/// Occasionally leaves out a tooth (never a central incisor), so gaps of a tooth's width
/// appear as they do in real arches.
fn pick_missing(jaw: Jaw, positions: u8, rng: &mut impl Rng) -> Vec<u8> {
    let (a, b) = arch::quadrants(jaw);
    let mut missing = Vec::new();
    if rng.random_bool(0.3) {
        let quadrant = if rng.random_bool(0.5) { a } else { b };
        missing.push(quadrant * 10 + rng.random_range(2..=positions));
    }
    missing
}

/// Gaussian noise along the normals (Box–Muller), `sigma` mm RMS.
pub(crate) fn add_noise(
    positions: &mut [[f32; 3]],
    normals: &[[f32; 3]],
    sigma: f32,
    rng: &mut impl Rng,
) {
    for (p, n) in positions.iter_mut().zip(normals) {
        let (u1, u2): (f32, f32) = (rng.random_range(f32::EPSILON..1.0), rng.random());
        let g = (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos() * sigma;
        *p = [p[0] + g * n[0], p[1] + g * n[1], p[2] + g * n[2]];
    }
}

/// Canonical → scan coordinates: the upper jaw turned teeth-down (a half turn about Y), then
/// a uniformly random rotation and a translation of up to 30 mm.
pub(crate) fn pose_for(jaw: Jaw, random: bool, rng: &mut impl Rng) -> nalgebra::Isometry3<f32> {
    use nalgebra::{Isometry3, Translation3, UnitQuaternion, Vector3};
    let turn = match jaw {
        Jaw::Upper => UnitQuaternion::from_axis_angle(&Vector3::y_axis(), std::f32::consts::PI),
        Jaw::Lower => UnitQuaternion::identity(),
    };
    if !random {
        return Isometry3::from_parts(Translation3::identity(), turn);
    }
    let (u1, u2, u3): (f32, f32, f32) = (rng.random(), rng.random(), rng.random());
    let tau = std::f32::consts::TAU;
    let q = nalgebra::Quaternion::new(
        (1.0 - u1).sqrt() * (tau * u2).sin(),
        (1.0 - u1).sqrt() * (tau * u2).cos(),
        u1.sqrt() * (tau * u3).sin(),
        u1.sqrt() * (tau * u3).cos(),
    );
    let r = UnitQuaternion::from_quaternion(q);
    let t = Translation3::new(
        rng.random_range(-30.0..30.0),
        rng.random_range(-30.0..30.0),
        rng.random_range(-30.0..30.0),
    );
    Isometry3::from_parts(t, r * turn)
}

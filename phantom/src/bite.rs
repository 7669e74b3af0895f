//! Bite phantoms: an upper and a lower arch generated in occlusion, the bite record that
//! captured how they meet (a digital buccal bite scan, or a two-sided wax record), and an
//! injectable misregistration of the exported lower arch against that record.
//!
//! How the occlusion is made: the upper arch (wider and deeper than the lower, as real arches
//! are) is turned teeth-down over the lower, its incisors ~3.5 mm labial to the lower ones;
//! it is lowered and tilted until it rests on the lower teeth (the highest support under the
//! molars' midpoint), then lowered a further 0.10–0.20 mm with the cusps that would
//! interpenetrate flattened onto the lower surface: the wear facets of a real bite, and the
//! true contacts. A tight preparation pulls its antagonist down to 0.4–0.8 mm above it.
//! Everything is then put in one random pose shared by the three scans, as a scanner exports
//! them.

use crate::arch::Jaw;
use crate::{generate, generate_arch, DefectMix, PhantomSpec, Scanned};
use imprint_core::derived::{vertex_normals, Bvh};
use imprint_core::Scan;
use nalgebra::{Isometry3, Point3, Translation3, UnitQuaternion, Vector3};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// What recorded the bite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BiteRecord {
    /// No bite record: the arches as exported are all there is.
    None,
    /// A digital buccal bite scan: a positive partial surface of both arches (their buccal
    /// surfaces, premolars and molars, both sides).
    Buccal,
    /// A wax (or silicone) record: two-sided and negative, its upper face the imprint of the
    /// upper teeth and its lower face that of the lower teeth, perforated where they touch.
    Wax,
}

/// A rigid motion of the exported lower arch away from the recorded relation: a rotation of
/// `rotation_deg` about `axis` through the lower teeth's centroid, then a shift; in the
/// mouth frame (X to the patient's right, Y forward, Z up from the lower teeth).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Motion {
    /// Shift, mm.
    pub shift: [f32; 3],
    /// Rotation, degrees.
    pub rotation_deg: f32,
    /// Rotation axis (any length).
    pub axis: [f32; 3],
}

/// What to generate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BiteSpec {
    /// Seed: everything random follows from it.
    pub seed: u64,
    /// Approximate triangles per arch.
    pub triangles: usize,
    /// The bite record.
    pub record: BiteRecord,
    /// Misregistration of the exported lower arch, if any.
    pub misregistration: Option<Motion>,
    /// Crown preparations on the lower arch.
    pub preparations: u32,
    /// Pull the antagonist of each preparation down to 0.4–0.8 mm above it.
    pub tight_clearance: bool,
}

impl BiteSpec {
    /// A spec drawn from the seed: a buccal (60%) or wax record; in half the cases a
    /// misregistration (a shift of 0.3–1.0 mm, a rotation of 2–5°, or both); a preparation in
    /// 40%, half of them with too little clearance.
    pub fn random(seed: u64, triangles: usize) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6269_7465_7370);
        let record = if rng.random_bool(0.6) {
            BiteRecord::Buccal
        } else {
            BiteRecord::Wax
        };
        let misregistration = rng.random_bool(0.5).then(|| Motion::random(&mut rng));
        let preparations = u32::from(rng.random_bool(0.4));
        Self {
            seed,
            triangles,
            record,
            misregistration,
            preparations,
            tight_clearance: preparations > 0 && rng.random_bool(0.5),
        }
    }
}

impl Motion {
    /// A clinically significant misregistration: a shift of 0.3–1.0 mm, a rotation of 2–5°
    /// about a random axis, or both.
    pub fn random(rng: &mut impl Rng) -> Self {
        let kind = rng.random_range(0..3);
        let shift = if kind != 1 {
            scaled(unit(rng), rng.random_range(0.3..1.0))
        } else {
            [0.0; 3]
        };
        let rotation_deg = if kind != 0 {
            rng.random_range(2.0..5.0)
        } else {
            0.0
        };
        Self {
            shift,
            rotation_deg,
            axis: unit(rng),
        }
    }

    /// A shift of `shift_mm` and a rotation of `rotation_deg`, in directions drawn from
    /// `seed`.
    pub fn of_size(seed: u64, shift_mm: f32, rotation_deg: f32) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6d69_7372);
        Self {
            shift: scaled(unit(&mut rng), shift_mm),
            rotation_deg,
            axis: unit(&mut rng),
        }
    }

    /// Parses `SHIFT_MM[,ROTATION_DEG]` into a motion with directions drawn from `seed`.
    pub fn parse(seed: u64, text: &str) -> Result<Self, String> {
        let numbers: Vec<f32> = text
            .split(',')
            .map(|n| {
                n.trim()
                    .parse::<f32>()
                    .map_err(|e| format!("misregister `{text}`: `{n}`: {e}"))
            })
            .collect::<Result<_, _>>()?;
        if numbers.len() > 2 || numbers.iter().any(|n| !n.is_finite() || *n < 0.0) {
            return Err(format!(
                "misregister `{text}`: expected SHIFT_MM or SHIFT_MM,ROTATION_DEG (non-negative)"
            ));
        }
        Ok(Self::of_size(
            seed,
            numbers[0],
            numbers.get(1).copied().unwrap_or(0.0),
        ))
    }

    /// As an isometry about `center`.
    pub fn isometry(&self, center: [f32; 3]) -> Isometry3<f32> {
        let axis = Vector3::from(self.axis);
        let rotation = match nalgebra::Unit::try_new(axis, 1e-9) {
            Some(a) => UnitQuaternion::from_axis_angle(&a, self.rotation_deg.to_radians()),
            None => UnitQuaternion::identity(),
        };
        let c = Vector3::from(center);
        let about = Translation3::from(c) * rotation * Translation3::from(-c);
        Translation3::from(Vector3::from(self.shift)) * about
    }
}

fn unit(rng: &mut impl Rng) -> [f32; 3] {
    loop {
        let v: [f32; 3] = std::array::from_fn(|_| rng.random_range(-1.0..1.0f32));
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if (0.1..=1.0).contains(&n) {
            return scaled(v, 1.0 / n);
        }
    }
}

fn scaled(v: [f32; 3], k: f32) -> [f32; 3] {
    [v[0] * k, v[1] * k, v[2] * k]
}

/// A contact between two teeth in the recorded relation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrueContact {
    /// Upper tooth (FDI).
    pub upper: u8,
    /// Lower tooth (FDI).
    pub lower: u8,
    /// Area of the lower tooth within 0.05 mm of the upper one, mm².
    pub area_mm2: f32,
    /// Centre, scan coordinates.
    pub center: [f32; 3],
}

/// Clearance over a prepared tooth in the recorded relation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrueClearance {
    /// The prepared tooth (FDI).
    pub tooth: u8,
    /// Its smallest distance to the opposing arch, mm.
    pub clearance_mm: f32,
}

/// The injected misregistration, as it acts in scan coordinates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrueMotion {
    /// As specified (mouth frame).
    pub motion: Motion,
    /// The exported lower arch is this 4×4 matrix (row-major, scan coordinates) times the
    /// lower arch in the recorded relation.
    pub matrix: [[f32; 4]; 4],
    /// The largest displacement of a lower tooth point, mm.
    pub max_displacement_mm: f32,
}

/// What a bite phantom really contains.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BiteTruth {
    /// The generator's spec.
    pub spec: BiteSpec,
    /// The misregistration of the exported lower arch, if any.
    pub misregistration: Option<TrueMotion>,
    /// Tooth-pair contacts in the recorded relation.
    pub contacts: Vec<TrueContact>,
    /// Clearance over each preparation.
    pub clearances: Vec<TrueClearance>,
    /// Deepest interpenetration of the exported arches, mm (0 when they do not overlap).
    pub exported_penetration_mm: f32,
}

/// A generated case: both arches, the bite record, and the truth.
pub struct BitePhantom {
    /// The upper arch, as exported (labels attached).
    pub upper: Scan,
    /// The lower arch, as exported (moved by the misregistration, if any).
    pub lower: Scan,
    /// The bite record, in the recorded relation.
    pub bite: Option<Scan>,
    /// What it really contains.
    pub truth: BiteTruth,
}

/// Generates a bite phantom.
pub fn generate_bite(spec: &BiteSpec) -> BitePhantom {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed ^ 0x6f63_636c);
    let lower_spec = PhantomSpec {
        seed: spec.seed,
        triangles: spec.triangles,
        jaw: Some(Jaw::Lower),
        defects: Some(DefectMix {
            preparations: spec.preparations,
            ..DefectMix::default()
        }),
        scanned: Scanned::Intraoral,
        random_pose: false,
    };
    let lower = generate(&lower_spec);
    let shape = lower.truth.arch.map(|a| crate::truth::ArchShape {
        half_width: a.half_width + rng.random_range(2.0..3.0),
        depth: a.depth + rng.random_range(1.0..2.5),
    });
    let upper_spec = PhantomSpec {
        seed: spec.seed ^ 0x7570_7065,
        jaw: Some(Jaw::Upper),
        defects: Some(DefectMix::default()),
        ..lower_spec
    };
    let upper = generate_arch(&upper_spec, shape);
    let (mut upper_scan, mut lower_scan) = (upper.scan, lower.scan);
    let depths = (
        lower.truth.arch.map_or(0.0, |a| a.depth),
        shape.map_or(0.0, |a| a.depth),
    );
    let lower_bvh = Bvh::build(&lower_scan.positions, &lower_scan.triangles);
    occlude(&mut upper_scan, &lower_scan, &lower_bvh, depths, &mut rng);
    let preps: Vec<u8> = lower.truth.preparations.iter().map(|p| p.tooth).collect();
    if spec.tight_clearance {
        for &tooth in &preps {
            let c = rng.random_range(0.4..0.8);
            tighten(&mut upper_scan, &lower_scan, &lower_bvh, tooth, c);
        }
    }
    let upper_bvh = Bvh::build(&upper_scan.positions, &upper_scan.triangles);
    let contacts = contacts(&lower_scan, &upper_scan, &upper_bvh);
    let clearances = preps
        .iter()
        .map(|&tooth| TrueClearance {
            tooth,
            clearance_mm: clearance(&lower_scan, &upper_bvh, tooth),
        })
        .collect();
    let mut bite = match spec.record {
        BiteRecord::None => None,
        BiteRecord::Buccal => buccal_record(&upper_scan, &lower_scan, &mut rng),
        BiteRecord::Wax => wax_record(&upper_scan, &lower_scan, (&upper_bvh, &lower_bvh), &mut rng),
    };
    let pose = crate::pose_for(Jaw::Lower, true, &mut rng);
    let moved = spec.misregistration.map(|m| {
        let center = tooth_centroid(&lower_scan);
        let iso = m.isometry(center);
        let max = max_displacement(&lower_scan, &iso);
        transform(&mut lower_scan, &iso);
        let in_scan = pose * iso * pose.inverse();
        TrueMotion {
            motion: m,
            matrix: crate::truth::matrix_rows(&in_scan),
            max_displacement_mm: max,
        }
    });
    let exported_penetration_mm = penetration(&lower_scan, &upper_bvh);
    for scan in [&mut upper_scan, &mut lower_scan]
        .into_iter()
        .chain(bite.as_mut())
    {
        transform(scan, &pose);
    }
    let to_scan = |c: [f32; 3]| (pose * Point3::from(c)).coords.into();
    BitePhantom {
        upper: upper_scan,
        lower: lower_scan,
        bite,
        truth: BiteTruth {
            spec: spec.clone(),
            misregistration: moved,
            contacts: contacts
                .into_iter()
                .map(|c| TrueContact {
                    center: to_scan(c.center),
                    ..c
                })
                .collect(),
            clearances,
            exported_penetration_mm,
        },
    }
}

/// How far apart the anterior teeth stay, mm: in the intercuspal position the incisors and
/// canines are just out of contact.
const ANTERIOR_GAP: f32 = 0.2;

/// Puts the upper arch (as generated: teeth down) in occlusion with the lower one.
fn occlude(
    upper: &mut Scan,
    lower: &Scan,
    lower_bvh: &Bvh,
    depths: (f32, f32),
    rng: &mut impl Rng,
) {
    let dy = depths.0 - depths.1 + 3.5;
    for p in &mut upper.positions {
        p[1] += dy;
        p[2] += 30.0;
    }
    let below = surface_below(&upper.positions, lower, lower_bvh);
    let labels = upper.labels.clone().unwrap_or_default();
    let support = posterior_centroid(lower);
    // Gaps between upper and lower premolars and molars: where the upper arch rests.
    let rests: Vec<[f32; 3]> = upper
        .positions
        .iter()
        .zip(&below)
        .zip(&labels)
        .filter_map(|((p, b), &l)| {
            let (z, under) = (*b)?;
            (posterior(l) && posterior(under)).then_some([
                p[0] - support[0],
                p[1] - support[1],
                p[2] - z,
            ])
        })
        .collect();
    let (c, a, b) = rest_plane(&rests);
    let grind = rng.random_range(0.10..0.20);
    for ((p, z_below), &l) in upper.positions.iter_mut().zip(&below).zip(&labels) {
        p[2] -= c + a * (p[0] - support[0]) + b * (p[1] - support[1]) + grind;
        if let Some((z, under)) = z_below {
            let gap = if posterior(l) && posterior(*under) {
                0.0
            } else {
                ANTERIOR_GAP
            };
            p[2] = p[2].max(z + gap);
        }
    }
}

/// A premolar or molar.
fn posterior(fdi: u8) -> bool {
    fdi != 0 && fdi % 10 >= 4
}

/// The height of the lower surface straight below each point and the tooth there (0 for
/// gingiva), if any.
fn surface_below(points: &[[f32; 3]], lower: &Scan, bvh: &Bvh) -> Vec<Option<(f32, u8)>> {
    let labels = lower.labels.as_deref().unwrap_or(&[]);
    points
        .par_iter()
        .map(|p| {
            let hit = bvh.cast_ray([p[0], p[1], p[2] + 1.0], [0.0, 0.0, -1.0], 200.0)?;
            let tri = lower.triangles[hit.triangle as usize];
            Some((
                hit.point[2],
                labels.get(tri[0] as usize).copied().unwrap_or(0),
            ))
        })
        .collect()
}

/// The centroid of the lower premolars and molars, in the XY plane.
fn posterior_centroid(lower: &Scan) -> [f32; 2] {
    let labels = lower.labels.as_deref().unwrap_or(&[]);
    let (mut sum, mut n) = ([0.0f64; 2], 0usize);
    for (p, &l) in lower.positions.iter().zip(labels) {
        if (4..=7).contains(&(l % 10)) {
            sum[0] += f64::from(p[0]);
            sum[1] += f64::from(p[1]);
            n += 1;
        }
    }
    let n = n.max(1) as f64;
    [(sum[0] / n) as f32, (sum[1] / n) as f32]
}

/// The plane `c + a·x + b·y` (tilts within ±0.1) lying under every rest point `(x, y, gap)`
/// and highest at the origin: where the upper arch comes to rest, supported around the
/// molars' midpoint. `c(a, b)` is concave, so a pattern search finds its maximum.
fn rest_plane(points: &[[f32; 3]]) -> (f32, f32, f32) {
    let height = |a: f32, b: f32| {
        points
            .par_iter()
            .map(|p| p[2] - a * p[0] - b * p[1])
            .reduce(|| f32::INFINITY, f32::min)
    };
    let (mut a, mut b) = (0.0f32, 0.0f32);
    let mut best = height(a, b);
    let mut step = 0.02f32;
    while step > 1e-5 {
        let mut moved = false;
        for k in 0..16 {
            let angle = k as f32 * std::f32::consts::TAU / 16.0;
            let (na, nb) = (
                (a + step * angle.cos()).clamp(-0.1, 0.1),
                (b + step * angle.sin()).clamp(-0.1, 0.1),
            );
            let h = height(na, nb);
            if h > best + 1e-6 {
                (a, b, best, moved) = (na, nb, h, true);
                break;
            }
        }
        if !moved {
            step /= 2.0;
        }
    }
    (best, a, b)
}

/// Pulls the upper arch down over a prepared lower tooth to `c` mm above its highest point,
/// blending out over 1.5 mm around it, and keeps it out of the lower teeth.
fn tighten(upper: &mut Scan, lower: &Scan, lower_bvh: &Bvh, tooth: u8, c: f32) {
    let labels = lower.labels.as_deref().unwrap_or(&[]);
    let prep: Vec<[f32; 3]> = lower
        .positions
        .iter()
        .zip(labels)
        .filter(|(_, &l)| l == tooth)
        .map(|(p, _)| *p)
        .collect();
    let Some(top) = prep.iter().map(|p| p[2]).reduce(f32::max) else {
        return;
    };
    let occlusal: Vec<&[f32; 3]> = prep.iter().filter(|p| p[2] > top - 1.5).collect();
    let n = occlusal.len().max(1) as f32;
    let cx = occlusal.iter().map(|p| p[0]).sum::<f32>() / n;
    let cy = occlusal.iter().map(|p| p[1]).sum::<f32>() / n;
    let r0 = occlusal
        .iter()
        .map(|p| (p[0] - cx).hypot(p[1] - cy))
        .fold(0.0, f32::max);
    let target = top + c;
    let below = surface_below(&upper.positions, lower, lower_bvh);
    for (p, z_below) in upper.positions.iter_mut().zip(below) {
        let r = (p[0] - cx).hypot(p[1] - cy);
        let w = 1.0 - ((r - r0) / 1.5).clamp(0.0, 1.0);
        let w = w * w * (3.0 - 2.0 * w);
        if p[2] > target && w > 0.0 {
            p[2] -= w * (p[2] - target);
        }
        if let Some((z, _)) = z_below {
            p[2] = p[2].max(z);
        }
    }
}

/// Lower-tooth vertices within 0.05 mm of the upper arch, grouped by tooth pair.
fn contacts(lower: &Scan, upper: &Scan, upper_bvh: &Bvh) -> Vec<TrueContact> {
    let lower_labels = lower.labels.as_deref().unwrap_or(&[]);
    let upper_labels = upper.labels.as_deref().unwrap_or(&[]);
    let areas = vertex_areas(lower);
    // (upper tooth, lower tooth, vertex area, position) of each lower vertex in contact.
    type Hit = (u8, u8, f32, [f32; 3]);
    let hits: Vec<Option<Hit>> = (0..lower.positions.len())
        .into_par_iter()
        .map(|v| {
            let l = *lower_labels.get(v)?;
            if l == 0 {
                return None;
            }
            let p = lower.positions[v];
            let q = upper_bvh.closest_point(p, 0.05)?;
            let tri = upper.triangles[q.triangle as usize];
            let u = upper_labels.get(tri[0] as usize).copied().unwrap_or(0);
            Some((u, l, areas[v], p))
        })
        .collect();
    let mut pairs: std::collections::BTreeMap<(u8, u8), (f32, [f64; 3], usize)> =
        Default::default();
    for (u, l, a, p) in hits.into_iter().flatten() {
        let e = pairs.entry((u, l)).or_insert((0.0, [0.0; 3], 0));
        e.0 += a;
        (0..3).for_each(|k| e.1[k] += f64::from(p[k]));
        e.2 += 1;
    }
    pairs
        .into_iter()
        .map(|((upper, lower), (area, sum, n))| TrueContact {
            upper,
            lower,
            area_mm2: area,
            center: std::array::from_fn(|k| (sum[k] / n as f64) as f32),
        })
        .collect()
}

/// A third of the area of the triangles around each vertex.
fn vertex_areas(scan: &Scan) -> Vec<f32> {
    let (_, areas) =
        imprint_core::derived::face_normals_and_areas(&scan.positions, &scan.triangles);
    imprint_core::derived::vertex_areas(scan.positions.len(), &scan.triangles, &areas)
}

/// The smallest distance from a lower tooth to the upper arch, mm.
fn clearance(lower: &Scan, upper_bvh: &Bvh, tooth: u8) -> f32 {
    let labels = lower.labels.as_deref().unwrap_or(&[]);
    lower
        .positions
        .par_iter()
        .zip(labels)
        .filter(|(_, &l)| l == tooth)
        .filter_map(|(p, _)| upper_bvh.closest_point(*p, 5.0).map(|q| q.distance))
        .reduce(|| 5.0, f32::min)
}

/// How deep the lower arch's vertices lie inside the upper arch, mm (0 when none do).
fn penetration(lower: &Scan, upper_bvh: &Bvh) -> f32 {
    lower
        .positions
        .par_iter()
        .filter_map(|p| {
            // Inside the upper arch when its surface lies below, facing down (outwards).
            let hit = upper_bvh.cast_ray(*p, [0.0, 0.0, -1.0], 5.0)?;
            (hit.normal[2] < 0.0).then_some(hit.distance)
        })
        .reduce(|| 0.0, f32::max)
}

/// The centroid of the lower teeth (labelled vertices).
fn tooth_centroid(scan: &Scan) -> [f32; 3] {
    let labels = scan.labels.as_deref().unwrap_or(&[]);
    let (mut sum, mut n) = ([0.0f64; 3], 0usize);
    for (p, _) in scan.positions.iter().zip(labels).filter(|(_, &l)| l != 0) {
        (0..3).for_each(|k| sum[k] += f64::from(p[k]));
        n += 1;
    }
    std::array::from_fn(|k| (sum[k] / n.max(1) as f64) as f32)
}

fn max_displacement(scan: &Scan, iso: &Isometry3<f32>) -> f32 {
    let labels = scan.labels.as_deref().unwrap_or(&[]);
    scan.positions
        .iter()
        .zip(labels)
        .filter(|(_, &l)| l != 0)
        .map(|(p, _)| (iso * Point3::from(*p) - Point3::from(*p)).norm())
        .fold(0.0, f32::max)
}

fn transform(scan: &mut Scan, iso: &Isometry3<f32>) {
    for p in &mut scan.positions {
        *p = (iso * Point3::from(*p)).coords.into();
    }
}

/// A digital buccal bite: the buccal surfaces of both arches' premolars and molars, both
/// sides, from 5 mm below to 5 mm above the occlusal plane, with the bite scan's own noise.
fn buccal_record(upper: &Scan, lower: &Scan, rng: &mut impl Rng) -> Option<Scan> {
    let plane = occlusal_height(lower);
    let keep = |scan: &Scan| {
        let normals = vertex_normals(&scan.positions, &scan.triangles);
        let reach = scan
            .positions
            .iter()
            .map(|p| p[0].abs())
            .fold(0.0, f32::max);
        scan.positions
            .iter()
            .zip(normals)
            .map(|(p, n)| {
                p[0].abs() > 0.45 * reach
                    && n[0] * p[0].signum() > 0.3
                    && (p[2] - plane).abs() < 5.0
            })
            .collect::<Vec<bool>>()
    };
    let parts = [(upper, keep(upper), false), (lower, keep(lower), false)];
    record(&parts, rng)
}

/// A wax record: the occlusal faces of both arches where they are within 2.5 mm of each
/// other, wound as the wax's own surface (a negative), perforated where the teeth touch.
fn wax_record(upper: &Scan, lower: &Scan, bvhs: (&Bvh, &Bvh), rng: &mut impl Rng) -> Option<Scan> {
    let keep = |scan: &Scan, other: &Bvh| {
        let labels = scan.labels.as_deref().unwrap_or(&[]);
        scan.positions
            .par_iter()
            .zip(labels)
            .map(|(p, &l)| {
                l != 0
                    && other
                        .closest_point(*p, 2.5)
                        .is_some_and(|q| q.distance > 0.05)
            })
            .collect::<Vec<bool>>()
    };
    let parts = [
        (upper, keep(upper, bvhs.1), true),
        (lower, keep(lower, bvhs.0), true),
    ];
    record(&parts, rng)
}

/// The mean height of the lower teeth's top millimetre: the occlusal plane's level.
fn occlusal_height(lower: &Scan) -> f32 {
    let top = lower
        .positions
        .iter()
        .map(|p| p[2])
        .fold(f32::NEG_INFINITY, f32::max);
    let near: Vec<f32> = lower
        .positions
        .iter()
        .map(|p| p[2])
        .filter(|z| *z > top - 2.0)
        .collect();
    near.iter().sum::<f32>() / near.len().max(1) as f32
}

/// The faces whose three vertices are kept, of each part (reversed when the part is a
/// negative), as one scan with 8 µm of its own noise along the normals.
fn record(parts: &[(&Scan, Vec<bool>, bool)], rng: &mut impl Rng) -> Option<Scan> {
    let mut positions = Vec::new();
    let mut triangles = Vec::new();
    for (scan, keep, negative) in parts {
        let mut index = vec![u32::MAX; scan.positions.len()];
        for t in &scan.triangles {
            if !t.iter().all(|&v| keep[v as usize]) {
                continue;
            }
            let mut tri = t.map(|v| {
                let v = v as usize;
                if index[v] == u32::MAX {
                    index[v] = positions.len() as u32;
                    positions.push(scan.positions[v]);
                }
                index[v]
            });
            if *negative {
                tri.swap(1, 2);
            }
            triangles.push(tri);
        }
    }
    let normals = vertex_normals(&positions, &triangles);
    crate::add_noise(&mut positions, &normals, 0.008, rng);
    // Empty only if the arches never come near each other: then there is no record.
    Scan::new(positions, triangles).ok()
}

impl BitePhantom {
    /// The case file a lab would send: the scans and their roles, and the prepared teeth
    /// (for a crown; without one, no restoration is named).
    pub fn case_json(&self) -> serde_json::Value {
        let mut scans = vec![
            serde_json::json!({"path": "upper.stl", "role": "upper"}),
            serde_json::json!({"path": "lower.stl", "role": "lower"}),
        ];
        if self.bite.is_some() {
            scans.push(serde_json::json!({"path": "bite.stl", "role": "bite"}));
        }
        let preps: Vec<serde_json::Value> = self
            .truth
            .clearances
            .iter()
            .map(|c| serde_json::json!({"tooth": c.tooth}))
            .collect();
        let mut case = serde_json::json!({
            "id": format!("bite-phantom-{}", self.truth.spec.seed),
            "scans": scans,
            "impression": "final",
            "scanned": "intraoral",
            "material": "digital",
            "prepared_teeth": preps,
        });
        if !self.truth.clearances.is_empty() {
            case["restoration"] = "crown".into();
        }
        case
    }
}

/// Writes `upper.stl`, `lower.stl`, `bite.stl` (when there is a record), `case.json` and
/// `truth.json` into `dir`.
pub fn write(phantom: &BitePhantom, dir: &std::path::Path) -> std::io::Result<()> {
    use imprint_core::io::write_stl_binary;
    std::fs::create_dir_all(dir)?;
    let create = |name: &str| std::fs::File::create(dir.join(name)).map(std::io::BufWriter::new);
    for (name, scan) in [("upper.stl", &phantom.upper), ("lower.stl", &phantom.lower)]
        .into_iter()
        .chain(phantom.bite.as_ref().map(|b| ("bite.stl", b)))
    {
        write_stl_binary(&scan.positions, &scan.triangles, &mut create(name)?)?;
    }
    let json = |v: &serde_json::Value| serde_json::to_vec_pretty(v).map_err(std::io::Error::other);
    std::fs::write(dir.join("case.json"), json(&phantom.case_json())?)?;
    std::fs::write(
        dir.join("truth.json"),
        serde_json::to_vec_pretty(&phantom.truth).map_err(std::io::Error::other)?,
    )
}

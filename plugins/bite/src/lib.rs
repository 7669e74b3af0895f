//! `bite`: how the upper and lower arches meet, for cases that hold both arches and,
//! optionally, a bite record.
//!
//! **Registration.** With a bite record, each arch is registered to it by point-to-plane ICP
//! on the host's closest-point queries ([`icp`]): a digital buccal bite scan is a positive
//! partial surface of both arches, a wax or silicone record a two-sided negative whose upper
//! face fits the upper arch and lower face the lower arch (which kind it is, is read from the
//! normals). The two fits give the recorded relation; how far the exported lower arch sits
//! from it is the misregistration. Without a record the arches are judged as exported.
//!
//! **The distance field** ([`field`]) over the lower teeth in the registered relation gives,
//! per tooth pair, contacts (≤ `contact_mm`), inter-penetration (depth and area) and the
//! closest approach; over each prepared tooth it gives the occlusal clearance.
//!
//! **Findings** (all on the lower arch, except clearance over an upper preparation, which is
//! on the upper arch):
//!
//! | kind | when | severity |
//! |---|---|---|
//! | `bite_registration` | always: record used, residuals, correction, contacts | info |
//! | `bite_contact` | per tooth pair that touches (the contact map) | info |
//! | `bite_misregistration` | exported relation ≥ `misregistration_mm` or `misregistration_deg` from the record | major |
//! | `bite_unstable` | the record does not register (no convergence, residual, too few pairs, a free motion), or the arches are not in occlusion | major |
//! | `bite_penetration` | a tooth pair overlaps deeper than `penetration_mm` | major |
//! | `bite_open` | one side has no posterior contact on unprepared teeth | major |
//! | `bite_clearance` | a preparation is closer than `min_clearance_mm` to its antagonist | major |
//!
//! Each asks for review rather than a rescan: a misregistered bite can be re-articulated on
//! its record (the correction is in the finding's metrics), and clearance is the dentist's
//! preparation to adjust, not an impression defect.

pub mod field;
pub mod icp;

use field::{per_pair, probe, PairStats, Probe};
use icp::{Fit, Sample, Target};
use imprint_core::derived::{vertex_areas, DerivedKind};
use imprint_core::finding::{Finding, FindingKind, Severity};
use imprint_core::plugin::sdk::{Analyzer, Context, ScanRef};
use imprint_core::plugin::{Manifest, Parameter};
use imprint_core::tooth::Jaw;
use nalgebra::{Isometry3, Point3};
use std::collections::BTreeMap;

#[derive(Default)]
struct Bite;

impl Analyzer for Bite {
    fn manifest(&self) -> Manifest {
        Manifest {
            id: "bite".into(),
            name: "Bite registration".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            interface_version: String::new(),
            kinds: vec![
                FindingKind::BiteRegistration,
                FindingKind::BiteContact,
                FindingKind::BiteMisregistration,
                FindingKind::BiteUnstable,
                FindingKind::BitePenetration,
                FindingKind::BiteOpen,
                FindingKind::BiteClearance,
            ],
            needs: vec![
                DerivedKind::FaceNormals,
                DerivedKind::VertexNormals,
                DerivedKind::ToothMap,
                DerivedKind::Bvh,
            ],
            parameters: vec![
                Parameter::new("contact_mm", 0.1, "Opposing teeth this close touch, mm (articulating paper marks contacts at about this distance)."),
                Parameter::new("penetration_mm", 0.3, "Inter-penetration deeper than this is implausible, mm: the periodontal ligament lets a clenched tooth intrude ~0.1 mm and each arch's scan is true to ~0.05 mm, so together they explain up to ~0.2 mm; beyond 0.3 mm the relation (or a cusp) is wrong."),
                Parameter::new("misregistration_mm", 0.15, "The exported relation is misregistered when re-registering it on the bite record moves a lower tooth point this far, mm: half the 0.3 mm that makes a crown high, and several times the registration's own error (≤ 0.03 mm on the phantoms)."),
                Parameter::new("misregistration_deg", 1.0, "… or turns the lower arch by this much, degrees."),
                Parameter::new("min_clearance_mm", 1.0, "Least occlusal clearance over a preparation, mm: monolithic zirconia needs ~1.0 mm; set 1.5 for metal-ceramic or lithium disilicate."),
                Parameter::new("max_residual_mm", 0.08, "A registration whose RMS residual exceeds this is unstable, mm (a good record fits its arch to scanner noise, ~0.01–0.03 mm)."),
            ],
        }
    }

    fn analyze(&self, ctx: &Context<'_, '_>) -> Result<Vec<Finding>, String> {
        ctx.in_pool(|| analyze_in_pool(ctx))?
    }
}

imprint_core::export_analyzer!(Bite);

/// The parameters.
struct Settings {
    contact: f32,
    penetration: f32,
    mis_mm: f64,
    mis_deg: f64,
    min_clearance: f32,
    max_residual: f64,
}

impl Settings {
    fn of(ctx: &Context<'_, '_>) -> Self {
        let get = |name: &str, default: f64| ctx.param_f64(name).unwrap_or(default);
        Self {
            contact: get("contact_mm", 0.1) as f32,
            penetration: get("penetration_mm", 0.3) as f32,
            mis_mm: get("misregistration_mm", 0.15),
            mis_deg: get("misregistration_deg", 1.0),
            min_clearance: get("min_clearance_mm", 1.0) as f32,
            max_residual: get("max_residual_mm", 0.08),
        }
    }
}

/// The scans of a case that hold both arches.
struct Arches<'i, 'a> {
    upper: ScanRef<'i, 'a>,
    lower: ScanRef<'i, 'a>,
    bite: Option<ScanRef<'i, 'a>>,
    /// Index of each among the case's scans.
    upper_index: usize,
    lower_index: usize,
}

/// The jaw of an arch scan: its role, else the tooth map's estimate.
fn jaw_of(scan: &ScanRef<'_, '_>) -> Option<Jaw> {
    match scan.role() {
        "upper" => Some(Jaw::Upper),
        "lower" => Some(Jaw::Lower),
        "bite" => None,
        _ => match scan.tooth_map()["jaw"].as_str() {
            Some("upper") => Some(Jaw::Upper),
            Some("lower") => Some(Jaw::Lower),
            _ => None,
        },
    }
}

impl<'i, 'a> Arches<'i, 'a> {
    fn find(ctx: &Context<'i, 'a>) -> Option<Self> {
        let scans: Vec<ScanRef<'i, 'a>> = ctx.scans().collect();
        let index = |jaw: Jaw| scans.iter().position(|s| jaw_of(s) == Some(jaw));
        let (upper_index, lower_index) = (index(Jaw::Upper)?, index(Jaw::Lower)?);
        Some(Self {
            upper: scans[upper_index],
            lower: scans[lower_index],
            bite: scans.iter().find(|s| s.role() == "bite").copied(),
            upper_index,
            lower_index,
        })
    }
}

/// A scan as the fixed surface of a registration.
struct ScanTarget<'i, 'a>(ScanRef<'i, 'a>);

impl Target for ScanTarget<'_, '_> {
    fn closest(&self, p: [f32; 3], max: f32) -> Option<([f32; 3], [f32; 3])> {
        let q = self.0.closest_point(p, max)?;
        let n = self.0.face_normals().get(q.triangle as usize)?;
        Some((q.point, *n))
    }
}

/// The recorded relation: the lower arch's coordinates into the upper arch's.
struct Registration {
    lower_to_upper: Isometry3<f64>,
    /// `buccal bite scan`, `wax record`, or `none` (as exported).
    record: &'static str,
    fits: Option<(Fit, Fit)>,
    /// Why the record could not be used, when it could not.
    failure: Option<String>,
    /// How far the relation moves the exported lower arch.
    moved: Displacement,
}

/// Samples an arch for registration: about 8000 points spread over it.
fn samples(scan: ScanRef<'_, '_>) -> Vec<Sample> {
    let (p, n) = (scan.positions(), scan.vertex_normals());
    let stride = (p.len() / 8000).max(1);
    (0..p.len().min(n.len()))
        .step_by(stride)
        .map(|v| Sample {
            point: p[v],
            normal: n[v],
        })
        .collect()
}

fn register(arches: &Arches<'_, '_>, settings: &Settings) -> Registration {
    let Some(bite) = arches.bite else {
        return Registration {
            lower_to_upper: Isometry3::identity(),
            record: "none",
            fits: None,
            failure: None,
            moved: Displacement::default(),
        };
    };
    let target = ScanTarget(bite);
    let upper = icp::register(&samples(arches.upper), &target, Isometry3::identity());
    let lower = icp::register(&samples(arches.lower), &target, Isometry3::identity());
    let record = if upper.orientation < 0 {
        "wax record"
    } else {
        "buccal bite scan"
    };
    let failure = [("upper", &upper), ("lower", &lower)]
        .iter()
        .find_map(|(name, fit)| unstable(name, fit, settings));
    let lower_to_upper = if failure.is_none() {
        upper.transform.inverse() * lower.transform
    } else {
        Isometry3::identity()
    };
    Registration {
        lower_to_upper,
        record,
        fits: Some((upper, lower)),
        failure,
        moved: displacement(arches.lower, &lower_to_upper),
    }
}

/// Why a fit cannot be trusted, if it cannot.
fn unstable(arch: &str, fit: &Fit, settings: &Settings) -> Option<String> {
    if fit.orientation == 0 || fit.pairs < 200 {
        return Some(format!(
            "the bite record does not overlap the {arch} arch (only {} matching points)",
            fit.pairs
        ));
    }
    if !fit.converged {
        return Some(format!(
            "the registration of the bite record to the {arch} arch did not converge"
        ));
    }
    if fit.rms_mm > settings.max_residual {
        return Some(format!(
            "the bite record fits the {arch} arch with a residual of {:.3} mm (at most {:.3} expected): it may be distorted",
            fit.rms_mm, settings.max_residual
        ));
    }
    if fit.conditioning < 1e-3 {
        return Some(format!(
            "the bite record covers too little of the {arch} arch to fix its position in every direction"
        ));
    }
    None
}

fn analyze_in_pool(ctx: &Context<'_, '_>) -> Result<Vec<Finding>, String> {
    let Some(arches) = Arches::find(ctx) else {
        // One arch alone: the checklist asks for the opposing arch where the case needs it.
        return Ok(Vec::new());
    };
    let this = ctx.scan_index();
    if this != arches.lower_index && this != arches.upper_index {
        return Ok(Vec::new());
    }
    let settings = Settings::of(ctx);
    let prepared = ctx.prepared_teeth();
    let upper_preps: Vec<u8> = prepared
        .iter()
        .copied()
        .filter(|t| Jaw::of_fdi(*t) == Some(Jaw::Upper))
        .collect();
    if this == arches.upper_index && upper_preps.is_empty() {
        return Ok(Vec::new());
    }
    let registration = register(&arches, &settings);
    if this == arches.upper_index {
        let upper_to_lower = registration.lower_to_upper.inverse();
        let measured = clearances(arches.upper, arches.lower, &upper_to_lower, &upper_preps);
        return Ok(clearance_findings(&measured, &settings));
    }
    Ok(lower_findings(&arches, &registration, &prepared, &settings))
}

/// Everything reported on the lower arch.
fn lower_findings(
    arches: &Arches<'_, '_>,
    registration: &Registration,
    prepared: &[u8],
    settings: &Settings,
) -> Vec<Finding> {
    let lower = arches.lower;
    let tooth = lower.tooth_of_vertex();
    let teeth: Vec<u32> = (0..tooth.len() as u32)
        .filter(|&v| tooth[v as usize] != 0)
        .collect();
    let probes = probe(
        lower,
        &teeth,
        arches.upper,
        &registration.lower_to_upper,
        FIELD_REACH,
    );
    let areas = vertex_areas(
        lower.positions().len(),
        lower.triangles(),
        lower.face_areas(),
    );
    let pairs = per_pair(
        &probes,
        tooth,
        &areas,
        lower.positions(),
        (settings.contact, settings.penetration),
    );
    let lower_preps: Vec<u8> = prepared
        .iter()
        .copied()
        .filter(|t| Jaw::of_fdi(*t) == Some(Jaw::Lower))
        .collect();
    let measured = clearances(
        lower,
        arches.upper,
        &registration.lower_to_upper,
        &lower_preps,
    );
    let centre = centroid(lower);
    let mut out = vec![summary(registration, &pairs, &measured, &probes, centre)];
    out.extend(misregistration(arches, registration, settings, centre));
    if let Some(why) = not_in_occlusion(arches, registration, &probes) {
        out.push(Finding::new(
            FindingKind::BiteUnstable,
            Severity::Major,
            centre,
            0.0,
            format!("Bite: {why}, so the arches are not in their bite relation and it cannot be judged; export the arches articulated (in their bite relation) or add a bite record."),
        ));
        return out;
    }
    out.extend(penetration_findings(&pairs, settings));
    out.extend(contact_findings(&pairs, prepared, settings));
    out.extend(open_sides(&pairs, tooth, prepared));
    out.extend(clearance_findings(&measured, settings));
    out
}

/// The information finding: how the bite was registered and what it shows.
fn summary(
    registration: &Registration,
    pairs: &BTreeMap<(u8, u8), PairStats>,
    clearances: &[Clearance],
    probes: &[Probe],
    centre: [f32; 3],
) -> Finding {
    let Displacement { shift, angle, .. } = registration.moved;
    let mut metrics = correction_metrics(registration);
    let touching = pairs
        .values()
        .filter(|s| s.contact_area >= MIN_CONTACT_AREA)
        .count();
    metrics.insert("contact_pairs".into(), touching as f64);
    let deepest = probes
        .iter()
        .map(|p| p.distance)
        .fold(f32::INFINITY, f32::min);
    if deepest.is_finite() {
        metrics.insert("deepest_mm".into(), f64::from(-deepest));
    }
    for c in clearances {
        metrics.insert(format!("clearance_mm_{}", c.tooth), f64::from(c.clearance));
    }
    let how = match (&registration.fits, &registration.failure) {
        (Some((u, l)), None) => {
            for (name, fit) in [("upper", u), ("lower", l)] {
                metrics.insert(format!("residual_{name}_mm"), fit.rms_mm);
                metrics.insert(format!("pairs_{name}"), fit.pairs as f64);
                metrics.insert(format!("conditioning_{name}"), fit.conditioning);
            }
            format!(
                "registered to the {} (residual {:.3} mm upper, {:.3} mm lower): the exported lower arch sits {shift:.2} mm and {angle:.1}° from the recorded relation",
                registration.record, u.rms_mm, l.rms_mm
            )
        }
        (Some(_), Some(why)) => format!("judged as exported, because {why}"),
        (None, _) => "judged as exported (no bite record in the case)".into(),
    };
    let list: Vec<String> = pairs
        .iter()
        .filter(|(_, s)| s.contact_area >= MIN_CONTACT_AREA)
        .map(|((l, u), _)| format!("{l}/{u}"))
        .collect();
    let message = format!(
        "Bite {how}. {} tooth pairs touch{}.",
        touching,
        if list.is_empty() {
            String::new()
        } else {
            format!(" ({})", list.join(", "))
        }
    );
    let mut f = Finding::new(
        FindingKind::BiteRegistration,
        Severity::Info,
        centre,
        0.0,
        message,
    );
    f.metrics = metrics;
    f
}

/// How far the distance field reaches, mm: contacts, penetrations and open sides are all
/// decided within it, and a shorter reach keeps each closest-point query cheap.
const FIELD_REACH: f32 = 1.0;

/// A contact smaller than this is noise, mm².
const MIN_CONTACT_AREA: f32 = 0.05;

/// How far a motion moves the lower teeth.
#[derive(Debug, Clone, Copy, Default)]
struct Displacement {
    /// The largest displacement of a lower tooth point, mm.
    shift: f64,
    /// The rotation angle, degrees.
    angle: f64,
    /// The vertex moved most.
    at: Option<usize>,
}

fn displacement(lower: ScanRef<'_, '_>, motion: &Isometry3<f64>) -> Displacement {
    let tooth = lower.tooth_of_vertex();
    let mut best = (0.0f64, None);
    for (v, p) in lower.positions().iter().enumerate().step_by(7) {
        if tooth.get(v).copied().unwrap_or(0) == 0 {
            continue;
        }
        let q = Point3::new(f64::from(p[0]), f64::from(p[1]), f64::from(p[2]));
        let d = (motion * q - q).norm();
        if d > best.0 {
            best = (d, Some(v));
        }
    }
    Displacement {
        shift: best.0,
        angle: motion.rotation.angle().to_degrees(),
        at: best.1,
    }
}

/// The correction that puts the exported lower arch in the recorded relation (translation,
/// mm, and rotation vector, rad, in the lower scan's coordinates), and how far it moves it.
fn correction_metrics(registration: &Registration) -> BTreeMap<String, f64> {
    let correction = registration.lower_to_upper;
    let t = correction.translation.vector;
    let r = correction.rotation.scaled_axis();
    let mut metrics = BTreeMap::new();
    for (k, name) in ["x", "y", "z"].iter().enumerate() {
        metrics.insert(format!("correction_t{name}_mm"), t[k]);
        metrics.insert(format!("correction_r{name}_rad"), r[k]);
    }
    metrics.insert("shift_mm".into(), registration.moved.shift);
    metrics.insert("rotation_deg".into(), registration.moved.angle);
    metrics
}

fn misregistration(
    arches: &Arches<'_, '_>,
    registration: &Registration,
    settings: &Settings,
    centre: [f32; 3],
) -> Option<Finding> {
    if let Some(why) = &registration.failure {
        return Some(Finding::new(
            FindingKind::BiteUnstable,
            Severity::Major,
            centre,
            0.0,
            format!("Bite record unusable: {why}. The arches are judged as exported; check or retake the bite record."),
        ));
    }
    registration.fits.as_ref()?;
    let Displacement { shift, angle, at } = registration.moved;
    if shift < settings.mis_mm && angle < settings.mis_deg {
        return None;
    }
    let lower = arches.lower;
    let v = at.unwrap_or(0);
    let tooth = lower.tooth_of_vertex().get(v).copied().filter(|&t| t != 0);
    let centre = lower.positions().get(v).copied().unwrap_or(centre);
    let mut f = Finding::new(
        FindingKind::BiteMisregistration,
        Severity::Major,
        centre,
        shift as f32,
        format!(
            "The arches as exported sit {shift:.2} mm and {angle:.1}° from the relation the {} records{}: restorations made on them would be high or out of contact. Re-articulate the models on the bite record (the correction is in this finding's metrics) or retake the bite.",
            registration.record,
            tooth.map_or(String::new(), |t| format!(" (most at {t})")),
        ),
    );
    f.tooth = tooth;
    f.metrics = correction_metrics(registration);
    Some(f)
}

/// Why the arches, as placed, cannot be in occlusion: nothing near, or not facing each
/// other (each exported in its own frame, teeth the same way up).
fn not_in_occlusion(
    arches: &Arches<'_, '_>,
    registration: &Registration,
    probes: &[Probe],
) -> Option<String> {
    if probes.is_empty() {
        return Some(format!(
            "no lower tooth comes within {FIELD_REACH} mm of the upper arch as the scans are placed"
        ));
    }
    let direction = |scan: &ScanRef<'_, '_>| {
        let d = scan.tooth_map()["frame"]["occlusal"].as_array()?.clone();
        let v: Vec<f64> = d.iter().filter_map(serde_json::Value::as_f64).collect();
        (v.len() == 3).then(|| nalgebra::Vector3::new(v[0], v[1], v[2]))
    };
    let (up, low) = (direction(&arches.upper)?, direction(&arches.lower)?);
    let low = registration.lower_to_upper.rotation * low;
    let angle = up.angle(&low).to_degrees();
    // Teeth in occlusion face each other (~180°); the estimate is good to a few degrees.
    (angle < 120.0).then(|| {
        format!("the arches' occlusal surfaces face {angle:.0}° apart where teeth in occlusion face each other (180°): the scans were exported each in its own frame")
    })
}

/// More overlapping tooth pairs than this are one finding for the whole arch.
const MAX_PAIR_FINDINGS: usize = 4;

/// Implausible inter-penetration: per tooth pair, or one finding when many pairs overlap
/// (the relation as a whole is wrong, and a list of pairs would drown the report).
fn penetration_findings(
    pairs: &BTreeMap<(u8, u8), PairStats>,
    settings: &Settings,
) -> Vec<Finding> {
    let deep: Vec<(&(u8, u8), &PairStats)> = pairs
        .iter()
        .filter(|(_, s)| s.deep_area >= MIN_CONTACT_AREA)
        .collect();
    let why = "more than tooth mobility and scan error explain, so the bite relation (or a cusp on one of the scans) is wrong; check the bite before the restoration's occlusion is set";
    if deep.len() > MAX_PAIR_FINDINGS {
        let Some(((lower, upper), worst)) = deep
            .iter()
            .min_by(|a, b| a.1.closest.total_cmp(&b.1.closest))
        else {
            return Vec::new();
        };
        let area: f32 = deep.iter().map(|(_, s)| s.deep_area).sum();
        let list: Vec<String> = deep.iter().map(|((l, u), _)| format!("{l}/{u}")).collect();
        let mut f = Finding::new(
            FindingKind::BitePenetration,
            Severity::Major,
            worst.center.map(|c| c as f32),
            area.sqrt(),
            format!(
                "{} tooth pairs overlap deeper than {:.1} mm ({}; {area:.0} mm² in all, deepest {:.2} mm at {lower}/{upper}): {why}.",
                deep.len(),
                settings.penetration,
                list.join(", "),
                -worst.closest
            ),
        );
        f.tooth = Some(*lower);
        f.vertices = deep
            .iter()
            .flat_map(|(_, s)| s.contact_vertices.iter().copied())
            .collect();
        f.metrics
            .insert("depth_mm".into(), f64::from(-worst.closest));
        f.metrics.insert("area_mm2".into(), f64::from(area));
        f.metrics.insert("pairs".into(), deep.len() as f64);
        f.metrics.insert("opposing".into(), f64::from(*upper));
        return vec![f];
    }
    deep.into_iter()
        .map(|(&(lower, upper), s)| {
            let mut f = Finding::new(
                FindingKind::BitePenetration,
                Severity::Major,
                s.center.map(|c| c as f32),
                s.deep_area.sqrt(),
                format!(
                    "{lower} lies {:.2} mm inside {upper} ({:.1} mm² deeper than {:.1} mm): {why}.",
                    -s.closest, s.deep_area, settings.penetration
                ),
            );
            f.tooth = Some(lower);
            f.vertices.clone_from(&s.contact_vertices);
            f.metrics.insert("depth_mm".into(), f64::from(-s.closest));
            f.metrics.insert("area_mm2".into(), f64::from(s.deep_area));
            f.metrics.insert("opposing".into(), f64::from(upper));
            f
        })
        .collect()
}

/// Contacts (information), per tooth pair that touches without overlapping too deep.
fn contact_findings(
    pairs: &BTreeMap<(u8, u8), PairStats>,
    prepared: &[u8],
    settings: &Settings,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for (&(lower, upper), s) in pairs {
        let centre = s.center.map(|c| c as f32);
        if s.deep_area < MIN_CONTACT_AREA && s.contact_area >= MIN_CONTACT_AREA {
            let note = if prepared.contains(&lower) || prepared.contains(&upper) {
                " (a prepared tooth: its crown will need this space)"
            } else {
                ""
            };
            let mut f = Finding::new(
                FindingKind::BiteContact,
                Severity::Info,
                centre,
                s.contact_area.sqrt(),
                format!(
                    "Contact {lower}/{upper}: {:.1} mm² within {:.1} mm{note}.",
                    s.contact_area, settings.contact
                ),
            );
            f.tooth = Some(lower);
            f.vertices.clone_from(&s.contact_vertices);
            f.metrics
                .insert("area_mm2".into(), f64::from(s.contact_area));
            f.metrics.insert("closest_mm".into(), f64::from(s.closest));
            f.metrics.insert("opposing".into(), f64::from(upper));
            out.push(f);
        }
    }
    out
}

/// A side of the arch with posterior teeth but no posterior contact.
fn open_sides(
    pairs: &BTreeMap<(u8, u8), PairStats>,
    tooth: &[u8],
    prepared: &[u8],
) -> Vec<Finding> {
    let posterior = |t: u8| t % 10 >= 4 && !prepared.contains(&t);
    let mut out = Vec::new();
    for (quadrants, side) in [([4u8, 8], "right"), ([3, 7], "left")] {
        let on_side = |t: u8| quadrants.contains(&(t / 10)) && posterior(t);
        if !tooth.iter().any(|&t| on_side(t)) {
            continue;
        }
        let side_pairs: Vec<(&(u8, u8), &PairStats)> =
            pairs.iter().filter(|((l, _), _)| on_side(*l)).collect();
        if side_pairs
            .iter()
            .any(|(_, s)| s.contact_area >= MIN_CONTACT_AREA)
        {
            continue;
        }
        let nearest = side_pairs
            .iter()
            .min_by(|a, b| a.1.closest.total_cmp(&b.1.closest));
        let (message, centre, lower) = match nearest {
            Some(((l, u), s)) => (
                format!(
                    "No posterior contact on the patient's {side}: the nearest approach is {:.2} mm ({l}/{u}). Either the bite was recorded open on this side or the relation is wrong; restorations here would be made out of occlusion.",
                    s.closest
                ),
                s.center.map(|c| c as f32),
                Some(*l),
            ),
            None => (
                format!("No posterior contact on the patient's {side}: no upper tooth within {FIELD_REACH} mm of the lower premolars and molars. Either the bite was recorded open on this side or the relation is wrong; restorations here would be made out of occlusion."),
                [0.0; 3],
                None,
            ),
        };
        let mut f = Finding::new(FindingKind::BiteOpen, Severity::Major, centre, 0.0, message);
        f.tooth = lower;
        out.push(f);
    }
    out
}

/// The clearance over one prepared tooth.
struct Clearance {
    tooth: u8,
    /// Smallest distance to the opposing arch, mm (6 when nothing is nearer).
    clearance: f32,
    opposing: u8,
    at: [f32; 3],
}

/// Farther than this, clearance is ample and not measured, mm.
const CLEARANCE_REACH: f32 = 6.0;

fn clearances(
    arch: ScanRef<'_, '_>,
    opposing: ScanRef<'_, '_>,
    into_opposing: &Isometry3<f64>,
    preps: &[u8],
) -> Vec<Clearance> {
    let tooth = arch.tooth_of_vertex();
    preps
        .iter()
        .filter_map(|&t| {
            let vertices: Vec<u32> = (0..tooth.len() as u32)
                .filter(|&v| tooth[v as usize] == t)
                .collect();
            if vertices.is_empty() {
                return None;
            }
            let probes = probe(arch, &vertices, opposing, into_opposing, CLEARANCE_REACH);
            let nearest = probes
                .iter()
                .min_by(|a, b| a.distance.total_cmp(&b.distance));
            Some(match nearest {
                Some(p) => Clearance {
                    tooth: t,
                    clearance: p.distance,
                    opposing: p.opposing,
                    at: arch.positions()[p.vertex as usize],
                },
                None => Clearance {
                    tooth: t,
                    clearance: CLEARANCE_REACH,
                    opposing: 0,
                    at: arch.positions()[vertices[0] as usize],
                },
            })
        })
        .collect()
}

fn clearance_findings(measured: &[Clearance], settings: &Settings) -> Vec<Finding> {
    measured
        .iter()
        .filter(|c| c.clearance < settings.min_clearance)
        .map(|c| {
            let antagonist = if c.opposing == 0 {
                "the opposing arch".to_string()
            } else {
                c.opposing.to_string()
            };
            let mut f = Finding::new(
                FindingKind::BiteClearance,
                Severity::Major,
                c.at,
                c.clearance.max(0.0),
                format!(
                    "Only {:.2} mm of occlusal clearance between the preparation of {} and {antagonist}, where the restoration needs {:.1} mm: reduce the preparation (or adjust the antagonist) before the crown is designed.",
                    c.clearance, c.tooth, settings.min_clearance
                ),
            );
            f.tooth = Some(c.tooth);
            f.metrics.insert("clearance_mm".into(), f64::from(c.clearance));
            f.metrics.insert("opposing".into(), f64::from(c.opposing));
            f
        })
        .collect()
}

/// The centroid of a scan's tooth points (of all points when unlabelled).
fn centroid(scan: ScanRef<'_, '_>) -> [f32; 3] {
    let tooth = scan.tooth_of_vertex();
    let (mut sum, mut n) = ([0.0f64; 3], 0usize);
    for (v, p) in scan.positions().iter().enumerate() {
        if tooth.is_empty() || tooth.get(v).is_some_and(|&t| t != 0) {
            (0..3).for_each(|k| sum[k] += f64::from(p[k]));
            n += 1;
        }
    }
    std::array::from_fn(|k| (sum[k] / n.max(1) as f64) as f32)
}

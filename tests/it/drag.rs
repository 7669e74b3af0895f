//! The `drag-marks` analyzer through the plugin boundary: parallel grooves on a surface
//! found with their direction, length and depth; an overlapping sheet found as a double
//! surface with its gap; nothing on the same surfaces without the defects; drags left alone
//! on an intraoral scan; and on phantoms, double surfaces found, drag directions right and
//! the molars' fissures not taken for drags.

use imprint_core::finding::{Finding, FindingKind};
use imprint_core::scan::Scan;
use imprint_host::case::CaseFile;
use imprint_host::report::Report;
use imprint_host::run::{report_for, Loaded};

fn with_drag<T>(f: impl FnOnce(&Loaded<'_>) -> T) -> T {
    crate::support::with_plugin("imprint_plugin_drag", f)
}

fn analyze(scan: Scan, case: Option<serde_json::Value>) -> Report {
    let case =
        case.map(|c| CaseFile::parse(c.to_string().as_bytes()).unwrap_or_else(|e| panic!("{e}")));
    with_drag(|loaded| report_for(&[(scan, String::new())], case.as_ref(), loaded, 2))
}

fn of_kind(report: &Report, kind: FindingKind) -> Vec<&Finding> {
    report.findings.iter().filter(|f| f.kind == kind).collect()
}

/// A 20 × 20 mm sheet (0.22 mm edges) with scanner-like noise, gently curved like a tooth
/// wall (radius 6 mm about the Y axis), and `grooves` (centre offset across, mm) of 0.6 mm
/// wide, 0.2 mm deep channels 8 mm long along (cos 0.5, sin 0.5).
fn sheet(grooves: &[f32]) -> (Vec<[f32; 3]>, Vec<[u32; 3]>) {
    let (mut p, t) = imprint_core::shapes::grid_plane(90, 20.0);
    let dir = [0.5f32.cos(), 0.5f32.sin()];
    let mut state = 7u64;
    let mut noise = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((state >> 33) as f32 / (1u64 << 31) as f32 - 0.5) * 0.03
    };
    for q in p.iter_mut() {
        let (x, y) = (q[0] - 10.0, q[1] - 10.0);
        let along = x * dir[0] + y * dir[1];
        let across = -x * dir[1] + y * dir[0];
        let mut z = noise();
        for &g in grooves {
            let off = (across - g).abs();
            if off < 0.3 && along.abs() < 4.0 {
                z -= 0.2 * (1.0 - (off / 0.3).powi(2));
            }
        }
        let (theta, r) = ((q[0] - 10.0) / 6.0, 6.0 + z);
        *q = [10.0 + r * theta.sin(), q[1], r * theta.cos() - 6.0];
    }
    (p, t)
}

#[test]
fn parallel_grooves_are_found_with_their_direction_and_a_clean_sheet_stays_clean() {
    let report = analyze(imprint_core::shapes::to_scan(sheet(&[-1.0, 1.0])), None);
    let marks = of_kind(&report, FindingKind::DragMark);
    assert_eq!(marks.len(), 2, "{:#?}", report.findings);
    for m in &marks {
        let d = [
            m.metrics["direction_x"],
            m.metrics["direction_y"],
            m.metrics["direction_z"],
        ];
        // The sheet is bent about Y, so the grooves' chord runs (cos 0.5, sin 0.5) in XY.
        let (c, s) = (0.5f64.cos(), 0.5f64.sin());
        let cos = (d[0] * c + d[1] * s).abs() / (d[0].hypot(d[1]).hypot(d[2]));
        assert!(cos.acos().to_degrees() < 10.0, "direction {d:?}");
        assert!((m.size_mm - 8.0).abs() < 1.5, "length {}", m.size_mm);
        let depth = m.metrics["depth_mm"];
        assert!((0.12..=0.25).contains(&depth), "depth {depth}");
        assert!(m.metrics["width_mm"] <= 0.6, "{:?}", m.metrics);
        assert_eq!(m.metrics["parallel_marks"], 2.0);
        assert_eq!(m.metrics["ridge"], 0.0);
        assert!(m.path.len() >= 8, "path of {} points", m.path.len());
        assert!(m.message.contains("parallel"), "{}", m.message);
    }
    let clean = analyze(imprint_core::shapes::to_scan(sheet(&[])), None);
    assert!(clean.findings.is_empty(), "{:#?}", clean.findings);
}

/// The sheet with a 4 mm patch around its middle recorded again 0.25 mm over it, as a
/// separate piece.
fn doubled() -> Scan {
    let (mut p, mut t) = sheet(&[]);
    let n = p.len() as u32;
    let centre = [10.0f32, 10.0, 0.0];
    let near = |q: [f32; 3]| (q[0] - centre[0]).hypot(q[1] - centre[1]) < 2.0;
    let patch: Vec<[u32; 3]> = t
        .iter()
        .copied()
        .filter(|f| f.iter().all(|&v| near(p[v as usize])))
        .collect();
    let copies: Vec<[f32; 3]> = p
        .iter()
        .map(|q| {
            // Outwards on the bent sheet: away from the bend's axis at (10, ·, -6).
            let (dx, dz) = (q[0] - 10.0, q[2] + 6.0);
            let len = dx.hypot(dz);
            [q[0] + 0.25 * dx / len, q[1], q[2] + 0.25 * dz / len]
        })
        .collect();
    p.extend(copies);
    t.extend(patch.iter().map(|f| f.map(|v| v + n)));
    imprint_core::shapes::to_scan((p, t))
}

#[test]
fn an_overlapping_sheet_is_a_double_surface_and_intraoral_scans_get_no_drag_checks() {
    let report = analyze(doubled(), None);
    let layers = of_kind(&report, FindingKind::DoubleSurface);
    assert_eq!(layers.len(), 1, "{:#?}", report.findings);
    let l = layers[0];
    assert!((l.metrics["gap_mm"] - 0.25).abs() < 0.05, "{:?}", l.metrics);
    assert_eq!(l.metrics["separate_shell"], 1.0);
    assert!((3.0..=4.5).contains(&l.size_mm), "size {}", l.size_mm);
    // Intraoral: no tray, no drags; the double surface (a registration failure) stays.
    let intraoral = serde_json::json!({"scanned": "intraoral", "scans": [{"path": "scan.stl", "role": "lower"}]});
    let grooved = analyze(
        imprint_core::shapes::to_scan(sheet(&[0.0])),
        Some(intraoral.clone()),
    );
    assert!(
        of_kind(&grooved, FindingKind::DragMark).is_empty(),
        "{:#?}",
        grooved.findings
    );
    let report = analyze(doubled(), Some(intraoral));
    assert_eq!(of_kind(&report, FindingKind::DoubleSurface).len(), 1);
}

#[test]
fn on_phantoms_double_surfaces_are_found_and_fissures_are_not_drags() {
    // 400k triangles (~0.22 mm edges): drags 0.3–0.8 mm wide need the resolution.
    let text = r#"
triangles = 400000
labels = false
[[group]]
name = "drags and double surfaces"
first_seed = 603
count = 2
defects = "drags=2,doubles=1"
[[group]]
name = "clean: molars with fissures"
first_seed = 1101
count = 1
defects = "clean"
"#;
    let (scores, total) = crate::support::run_suite_with("imprint_plugin_drag", text);
    println!("{}", total.to_text());
    let layers = &total.kinds["double_surface"];
    assert_eq!((layers.tp, layers.fp, layers.fn_), (2, 0, 0), "{layers:?}");
    let drags = &total.kinds["drag_mark"];
    assert!(drags.tp >= 1 && drags.fp == 0, "{drags:?}");
    assert!(
        drags.median_direction_error_deg.is_some_and(|e| e <= 15.0),
        "{drags:?}"
    );
    let clean = scores.last().map(|s| s.2.false_alarms);
    assert_eq!(clean, Some(0), "a clean arch's fissures taken for drags");
}

/// The collar of gingiva around an equigingival (abutted) preparation and the papilla between
/// two reduced crowns are anatomy, not drags (seed 502 held four of them before the map's
/// narrow prepared crowns were given their typical width and their gaps were known).
#[test]
fn the_collar_and_papillae_of_abutted_preparations_are_not_drags() {
    let total = crate::support::run_group(
        "imprint_plugin_drag",
        400000,
        (502, 1),
        "preparations=2,abutted=2",
    );
    let drags = total.kinds.get("drag_mark").map_or(0, |k| k.fp);
    assert_eq!(drags, 0, "{}", total.to_text());
}

/// Smears: on crowns that carry fine detail, a band where it was wiped out is found, on its
/// tooth; the same detail without a smear (and the same seeds' arches without any fine
/// detail) raises no smear.
#[test]
fn smeared_bands_are_found_and_fine_detail_alone_is_not_a_smear() {
    let text = r#"
triangles = 300000
labels = false
[[group]]
name = "smears"
first_seed = 5005
count = 2
defects = "smears=2"
[[group]]
name = "fine detail, no smear"
first_seed = 5301
count = 1
defects = "relief=1"
[[group]]
name = "no fine detail"
first_seed = 5101
count = 1
defects = "clean"
"#;
    let (scores, total) = crate::support::run_suite_with("imprint_plugin_drag", text);
    let smears = &total.kinds["smear"];
    // Found, on their teeth; fine relief has quiet patches of its own, and one of them on
    // these arches reads as a smear (measured over the suite: precision ~0.9).
    assert!(smears.tp == 4 && smears.fp <= 1, "{}", total.to_text());
    assert_eq!(total.tooth_accuracy, Some(1.0), "{}", total.to_text());
    // Without fine detail nothing is judged smeared and no drag is raised.
    assert_eq!(scores[3].2.false_alarms, 0, "{}", total.to_text());
    println!("{}", total.to_text());
}

/// A molar's fissure runs through the middle of its occlusal table; a drag that happens to
/// run along the arch over the same table lies off the middle and stays a drag (seed 605's
/// pair of marks across a lower first molar was taken for its fissure).
#[test]
fn a_drag_along_a_molar_off_its_centre_is_not_its_fissure() {
    let total =
        crate::support::run_group("imprint_plugin_drag", 400000, (605, 1), "drags=2,doubles=1");
    let drags = &total.kinds["drag_mark"];
    assert!(drags.tp >= 2 && drags.fp == 0, "{}", total.to_text());
}

/// On evenly sampled walls the occlusal anatomy is resolved as a scanner resolves it, and the
/// lips of a premolar's or molar's fissure (the cusp ridges falling into it) stand as ridges
/// along it; they are anatomy, not drags.
#[test]
fn the_lips_of_a_fissure_are_not_drags() {
    use imprint_core::tooth::Region;
    let phantom = imprint_phantom::generate(&imprint_phantom::PhantomSpec {
        seed: 8003,
        triangles: 200_000,
        defects: imprint_phantom::DefectMix::parse("walls=1").unwrap_or_else(|e| panic!("{e}")),
        ..Default::default()
    });
    let mut scan = phantom.scan;
    scan.labels = None;
    let report = analyze(scan, None);
    let on_tables: Vec<String> = of_kind(&report, FindingKind::DragMark)
        .into_iter()
        .filter(|f| f.tooth.is_some_and(|t| t % 10 >= 4))
        .filter(|f| f.surface == Some(Region::Occlusal))
        .map(|f| f.message.clone())
        .collect();
    assert!(on_tables.is_empty(), "{on_tables:#?}");
}

/// On evenly sampled walls, a crown's rim, an incisor's incisal edge and the gingiva's
/// contour beside the crease stand as broad bends the band-pass turns into ridges; their
/// vertices stand high above the smoothed surface for their height, as a narrow ridge's do
/// not. Clean controls of that kind raise no drag.
#[test]
fn broad_bends_on_even_walls_are_not_drags() {
    let (false_alarms, text) =
        crate::support::even_wall_false_alarms("imprint_plugin_drag", 200000, 2);
    assert_eq!(false_alarms, 0.0, "{text}");
}

/// The crests of anatomy (cusp and marginal ridges, a premolar's transverse ridge) measure
/// 0.8–0.9 mm across at half height on evenly sampled walls, wider than a drag ridge. Seed
/// 8006 raised a 0.83 mm wide "ridge" on 15 before ridges had their own width limit.
#[test]
fn crests_of_anatomy_are_wider_than_drag_ridges() {
    crate::support::assert_no_false_alarm("imprint_plugin_drag", 200000, 8006, "walls=1");
}

/// The stations, every half millimetre and only where the mark is deep enough, stop short of
/// a mark's tapered ends; a 3.5 mm drag on 35 (seed 9230, third of a parallel group) traced
/// to under 2 mm was dropped as too short. Its length is how far its region reaches along it.
#[test]
fn a_short_drag_is_as_long_as_its_region_reaches() {
    let total = crate::support::run_group(
        "imprint_plugin_drag",
        400000,
        (9230, 1),
        "drags=2,doubles=1",
    );
    let drags = &total.kinds["drag_mark"];
    assert!(drags.fn_ == 0 && drags.fp == 0, "{}", total.to_text());
}

/// A molar's table is wider than a premolar's, and the lips of its central fissure stand
/// further off its centre: on evenly sampled walls the lip along 46's fissure, 1.6 mm off
/// the centre (seed 8304), was reported as a drag running along the arch.
#[test]
fn the_lips_of_a_molar_fissure_stand_further_out() {
    crate::support::assert_no_false_alarm(
        "imprint_plugin_drag",
        400000,
        8304,
        "preparations=2,walls=1",
    );
}

/// On evenly sampled walls, the foot of the gingival collar around an abutted preparation
/// reads as short grooves (three or four stations) running round the tooth, one station of
/// which may wobble off the ring; judged by its chord, such a short mark is the collar
/// (seed 2554 with even walls raised three on the gingiva before).
#[test]
fn short_marks_round_an_abutted_preparation_are_its_collar() {
    let text = "triangles = 400000\nlabels = false\n[[group]]\nname = \"abutted, even walls\"\n\
                first_seed = 2554\ncount = 1\ndefects = \"preparations=2,abutted=2,walls=1\"\n";
    let (scores, total) = crate::support::run_suite_with("imprint_plugin_drag", text);
    let on_gingiva: Vec<_> = scores
        .iter()
        .flat_map(|s| &s.2.unmatched_findings)
        .filter(|u| u.kind == "drag_mark" && u.tooth.is_none())
        .collect();
    assert!(on_gingiva.is_empty(), "{on_gingiva:?}\n{}", total.to_text());
}

/// On crowns that carry fine detail (supplemental grooves and ridges ~1 mm apart), the
/// detail's crests chain into long regions that wander over the crown: seed 5308 (400k,
/// `relief=1`) had a false "drag" whose ends lay under 0.8 of its length apart. A tray slides
/// one way; its mark bends only with the surface.
#[test]
fn a_chain_of_fine_detail_that_wanders_is_not_a_drag() {
    crate::support::assert_no_false_alarm("imprint_plugin_drag", 400000, 5308, "relief=1");
}

//! The `margin` analyzer through the plugin boundary: finish lines traced on phantom
//! preparations against their true lines, the lines carried in the report, a case file's
//! line snapped and its offset reported, and a prepared tooth the scan lacks reported
//! instead of silently skipped.

use imprint_core::finding::{FindingKind, MarginLine, Severity};
use imprint_core::util::polyline_distance;
use imprint_host::case::CaseFile;
use imprint_host::report::Report;
use imprint_host::run::{parameters, report_for, Loaded};
use imprint_phantom::{generate, DefectMix, Phantom, PhantomSpec};

fn analyze(phantom: &Phantom, case: &serde_json::Value) -> Report {
    let (plugins, refused) =
        imprint_host::plugins::load_all(&[crate::support::plugin_lib("imprint_plugin_margin")]);
    assert_eq!(plugins.len(), 1, "build the workspace first: {refused:?}");
    let params = parameters(&plugins, &[]).unwrap_or_else(|e| panic!("{e}"));
    let loaded = Loaded {
        plugins: &plugins,
        refused: &refused,
        params: &params,
        policy: imprint_host::policy::Policy::builtin(),
    };
    let mut scan = phantom.scan.clone();
    scan.labels = None;
    let case = CaseFile::parse(case.to_string().as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    report_for(&[(scan, String::new())], Some(&case), &loaded, 2)
}

fn prepared(seed: u64) -> Phantom {
    prepared_at(seed, 120_000)
}

fn prepared_at(seed: u64, triangles: usize) -> Phantom {
    generate(&PhantomSpec {
        seed,
        triangles,
        defects: DefectMix::parse("preparations=2").unwrap_or_else(|e| panic!("{e}")),
        ..Default::default()
    })
}

/// A phantom of 400k triangles (intraoral-scanner resolution) with `defects`.
fn prepared_with(seed: u64, defects: &str) -> Phantom {
    generate(&PhantomSpec {
        seed,
        triangles: 400_000,
        defects: DefectMix::parse(defects).unwrap_or_else(|e| panic!("{e}")),
        ..Default::default()
    })
}

fn case_for(p: &Phantom, with_lines: bool) -> serde_json::Value {
    let teeth: Vec<serde_json::Value> = p
        .truth
        .preparations
        .iter()
        .map(|prep| {
            if with_lines {
                serde_json::json!({"tooth": prep.tooth, "margin": prep.margin})
            } else {
                serde_json::json!({"tooth": prep.tooth})
            }
        })
        .collect();
    serde_json::json!({
        "restoration": "crown",
        "prepared_teeth": teeth,
        "scans": [{"path": "scan.stl", "role": p.truth.jaw}],
    })
}

/// Mean and 95th percentile distance of a traced line's points from the true line.
fn agreement(line: &MarginLine, truth: &[[f32; 3]]) -> (f32, f32) {
    let mut d: Vec<f32> = line
        .points
        .iter()
        .map(|p| polyline_distance(*p, truth, true))
        .collect();
    d.sort_by(f32::total_cmp);
    let mean = d.iter().sum::<f32>() / d.len() as f32;
    (mean, d[d.len() * 95 / 100])
}

#[test]
fn finish_lines_are_traced_within_a_tenth_of_a_millimetre() {
    // Seed 4: a lower arch with two clean preparations, 120k triangles (~0.35 mm edges).
    let p = prepared(4);
    assert_lines_on_target(&p, &analyze(&p, &case_for(&p, false)));
}

/// Equigingival lines beside neighbouring crowns (seed 501, 16 and 25): where the collar
/// rises to a neighbour's wall within half a millimetre, the wall's foot is a crisper
/// concave kink than the line and hid it from the search; the traced line ran there, 0.5-0.9
/// mm out (mean 0.26 and 0.35 mm, p95 1.1 mm).
#[test]
fn equigingival_lines_beside_neighbouring_crowns_are_traced_on_target() {
    let p = prepared_with(501, "preparations=2,abutted=2");
    assert_lines_on_target(&p, &analyze(&p, &case_for(&p, false)));
}

/// Two prepared neighbours (seed 2704, 46 and 47): along the stretch where their lines run
/// side by side, the programme took 46's sharper line for 47's; the detour was dropped and
/// the stretch crossed as a chord 0.2-0.37 mm off 47's line, which read as a 2.7 mm blur, a
/// critical finding on a flaw-free preparation.
#[test]
fn a_prepared_neighbours_line_does_not_blur_a_clean_line() {
    let p = prepared_at(2704, 400_000);
    let report = analyze(&p, &case_for(&p, false));
    assert_lines_on_target(&p, &report);
    assert_no_critical(&report);
}

/// A chamfer whose line turns only 20-30° onto a steep, low root (seed 2703, 28): the root's
/// foot on the gingiva, 0.6 mm further out and down, is the sharper corner all round, and
/// the trace took it for the line (mean 0.67 mm off, two false tissue findings).
#[test]
fn a_soft_chamfer_is_not_traced_on_the_foot_of_the_root() {
    let p = prepared_at(2703, 400_000);
    let report = analyze(&p, &case_for(&p, false));
    let line = report
        .margin_lines
        .iter()
        .find(|l| l.tooth == 28)
        .unwrap_or_else(|| panic!("no line on 28: {:?}", report.runs));
    let truth = p.truth.preparations.iter().find(|t| t.tooth == 28);
    let (mean, p95) = agreement(line, &truth.expect("28 is prepared").margin);
    assert!(mean <= 0.1 && p95 <= 0.2, "28: {mean} / {p95}");
    assert_no_critical(&report);
}

/// Preparations with a crisp occlusal-axial line angle (as the real C002 has): the crown's
/// top edge turns 60-80°, sharper than any finish line, and the trace took it for the line,
/// 3-4 mm up, calling it fully captured. Below it the line is a crease over exposed root
/// (supragingival here, seed 9541: the gingiva's junction lies 1.5-2.5 mm further down
/// and must not be taken either) or a junction with abutting gingiva (seed 9521).
#[test]
fn the_crowns_top_edge_is_not_taken_for_the_finish_line() {
    for (seed, defects) in [
        (9541, "preparations=2,sharp=1,supra=2"),
        (9521, "preparations=2,sharp=1,abutted=2"),
    ] {
        let p = prepared_with(seed, defects);
        assert_lines_on_target(&p, &analyze(&p, &case_for(&p, false)));
    }
}

/// An equigingival 48 at the arch's end (seed 544): the tooth map's centre lay far enough
/// off that, re-centred on the line, the sections ran out of the triangles gathered around
/// the first axis before reaching the gingiva on the distal; 8.4 mm of a clean line read as
/// a gap (critical). The triangles are now gathered again around a frame that moved.
#[test]
fn sections_reach_the_gingiva_after_the_axis_moves() {
    let p = prepared_with(544, "preparations=2,abutted=2");
    let report = analyze(&p, &case_for(&p, false));
    assert_lines_on_target(&p, &report);
    assert_no_critical(&report);
}

/// No critical finding in `report` (a clean preparation must not be sent back).
fn assert_no_critical(report: &Report) {
    let critical: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Critical)
        .map(|f| &f.message)
        .collect();
    assert!(critical.is_empty(), "{critical:?}");
}

/// Both preparations' lines detected within 0.1 mm mean and 0.2 mm p95 of the truth.
fn assert_lines_on_target(p: &Phantom, report: &Report) {
    assert_eq!(report.margin_lines.len(), 2, "{:?}", report.runs);
    for line in &report.margin_lines {
        let truth = p
            .truth
            .preparations
            .iter()
            .find(|t| t.tooth == line.tooth)
            .unwrap_or_else(|| panic!("traced a line on unprepared tooth {}", line.tooth));
        let (mean, p95) = agreement(line, &truth.margin);
        eprintln!(
            "tooth {}: mean {mean:.3} mm, p95 {p95:.3} mm, captured {:.2}",
            line.tooth, line.captured_fraction
        );
        assert_eq!(line.source, "detected");
        assert!(
            mean <= 0.1 && p95 <= 0.2,
            "tooth {}: {mean} / {p95}",
            line.tooth
        );
        assert!(line.captured_fraction >= 0.9, "{}", line.captured_fraction);
        assert!(line.points.len() >= 100);
    }
}

#[test]
fn a_case_line_is_snapped_and_its_offset_reported() {
    let p = prepared(4);
    let report = analyze(&p, &case_for(&p, true));
    assert_eq!(report.margin_lines.len(), 2);
    for line in &report.margin_lines {
        assert_eq!(line.source, "case");
        // The analytic line against the triangulated surface: the mesh cuts the corner.
        let offset = line.case_offset_mm.unwrap_or(f32::NAN);
        assert!((0.0..0.2).contains(&offset), "offset {offset}");
    }
}

#[test]
fn a_prepared_tooth_missing_from_the_scan_is_reported() {
    let p = prepared(4);
    let mut case = case_for(&p, false);
    // A tooth of the other jaw cannot be on this scan.
    let other = if p.truth.jaw == imprint_phantom::Jaw::Upper {
        36
    } else {
        16
    };
    case["prepared_teeth"] = serde_json::json!([{"tooth": other}]);
    let report = analyze(&p, &case);
    let f = report
        .findings
        .iter()
        .find(|f| f.tooth == Some(other))
        .unwrap_or_else(|| panic!("no finding for {other}: {:?}", report.findings));
    assert_eq!(
        (f.kind, f.severity),
        (FindingKind::MarginGap, Severity::Critical)
    );
    assert!(f.message.contains("not found"), "{}", f.message);
}

/// A phantom of `triangles` with `mix`, scored by the margin scorer after analysis.
fn margin_scores(
    seed: u64,
    triangles: usize,
    mix: &str,
) -> (Report, Vec<imprint_phantom::marginscore::PreparationScore>) {
    // As the eval suite generates them.
    let p = generate(&PhantomSpec {
        seed,
        triangles,
        defects: DefectMix::parse(mix).unwrap_or_else(|e| panic!("{e}")),
        scanned: imprint_phantom::Scanned::Cast,
        random_pose: true,
        jaw: None,
    });
    let report = analyze(&p, &case_for(&p, false));
    let scores = imprint_phantom::marginscore::score_margins(
        &p.truth,
        &report.findings,
        &report.margin_lines,
    );
    (report, scores)
}

#[test]
fn margin_flaws_are_found_where_they_are_and_named() {
    // Seed 451 at scanner resolution: a blur and a hole on one preparation, tissue on the
    // other.
    let (report, preps) = margin_scores(451, 400_000, "preparations=2,margin_flaws=3");
    let flaws: Vec<_> = preps.iter().flat_map(|p| &p.flaws).collect();
    assert_eq!(flaws.len(), 3, "{preps:?}");
    for f in &flaws {
        let error = f.position_error_mm.unwrap_or(f64::NAN);
        assert!(f.kind_right && error <= 0.5, "{f:?}");
    }
    for p in &preps {
        let points = p.captured_error_points().unwrap_or(f64::NAN);
        assert!(points <= 5.0, "tooth {}: {points}", p.tooth);
        assert_eq!(p.false_critical, 0, "{:?}", report.findings);
        assert!(p.mean_distance_mm.is_some_and(|m| m <= 0.1), "{p:?}");
    }
}

/// Tissue lying over the line leaves a crisp kink at its own outer edge, ~0.2 mm off the line,
/// which the surface inside rises towards. Seed 456: the trace rode that edge round 34 and
/// called 3 mm of the 3.5 mm of tissue captured (captured-fraction error 13.9 points).
#[test]
fn the_edge_of_tissue_over_the_line_is_not_a_captured_line() {
    let (report, preps) = margin_scores(456, 400_000, "preparations=2,margin_flaws=3");
    let p = preps
        .iter()
        .find(|p| p.tooth == 34)
        .expect("34 is prepared");
    let tissue = p.flaws.iter().find(|f| f.kind == "margin_tissue");
    assert!(tissue.is_some_and(|f| f.kind_right), "{p:?}");
    let points = p.captured_error_points().unwrap_or(f64::NAN);
    assert!(points <= 5.0, "{points}: {:?}", report.findings);
}

#[test]
fn a_scan_too_coarse_for_a_margin_gets_one_review_finding_per_preparation() {
    // 60k triangles over a whole arch: ~0.4 mm edges, coarser than a margin can be judged at.
    let (report, preps) = margin_scores(4, 60_000, "preparations=2");
    assert_eq!(preps.len(), 2);
    for p in &preps {
        let on_tooth: Vec<_> = report
            .findings
            .iter()
            .filter(|f| f.tooth == Some(p.tooth))
            .collect();
        assert_eq!(on_tooth.len(), 1, "{on_tooth:?}");
        assert_eq!(
            (on_tooth[0].kind, on_tooth[0].severity),
            (FindingKind::MarginUnresolved, Severity::Major)
        );
        assert!(on_tooth[0].message.contains("too coarse"));
    }
}

#[test]
fn overlapping_margins_of_two_preparations_are_reported() {
    // The case file draws the first preparation's line for both: the lines coincide.
    let p = prepared(4);
    let first = &p.truth.preparations[0];
    let other = p.truth.preparations[1].tooth;
    let mut case = case_for(&p, false);
    case["prepared_teeth"] = serde_json::json!([
        {"tooth": first.tooth, "margin": first.margin},
        {"tooth": other, "margin": first.margin},
    ]);
    let report = analyze(&p, &case);
    let overlap: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::MarginOverlap)
        .collect();
    assert_eq!(overlap.len(), 1, "{:?}", report.findings);
    assert_eq!(overlap[0].severity, Severity::Critical);
    assert!(overlap[0].message.contains(&other.to_string()));
    // The two real, separate preparations do not overlap.
    let apart = analyze(&p, &case_for(&p, true));
    assert!(apart
        .findings
        .iter()
        .all(|f| f.kind != FindingKind::MarginOverlap));
}

/// Points of a `.bmesh` point cloud (little-endian: u32 vertex count, u32 face count, one
/// byte, then f32 x, y, z per vertex).
fn bmesh_points(path: &std::path::Path) -> Vec<[f32; 3]> {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let n = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
    (0..n)
        .map(|i| {
            let f = |k: usize| {
                let o = 9 + 12 * i + 4 * k;
                f32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
            };
            [f(0), f(1), f(2)]
        })
        .collect()
}

/// Traces `points` (a point cloud around one preparation) with the plugin's default
/// settings for its spacing: the line's mean and 95th percentile distance from `truth`, mm,
/// or `None` when no line was traced.
fn trace_cloud_against(points: &[[f32; 3]], truth: &[[f32; 3]]) -> Option<(f32, f32)> {
    use imprint_plugin_margin::{cloud, trace::Settings};
    let spacing = cloud::spacing(points).unwrap_or(0.1);
    let settings = Settings {
        sections: 360,
        wide_mm: 0.4,
        fine_mm: (0.6 * spacing).max(0.15),
        min_angle_deg: 20.0,
        min_sharpness: 0.6,
        band_mm: 0.5,
    };
    let line = cloud::trace_cloud(points, &settings)?;
    assert_eq!(line.len(), 360);
    let mut d: Vec<f32> = line
        .iter()
        .map(|p| polyline_distance(*p, truth, true))
        .collect();
    d.sort_by(f32::total_cmp);
    Some((
        d.iter().sum::<f32>() / d.len() as f32,
        d[d.len() * 95 / 100],
    ))
}

#[test]
fn finish_lines_are_traced_on_real_point_clouds_when_present() {
    let Some(root) = crate::support::shared_scans() else {
        eprintln!("skipped: no shared scans");
        return;
    };
    for case in ["C002_36/36", "C011_11/11"] {
        let dir = root.join("real/marginline");
        let points = bmesh_points(&dir.join(format!("{case}_margin_context.bmesh")));
        let truth: Vec<[f32; 3]> = std::fs::read_to_string(dir.join(format!("{case}_margin.pts")))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let v: Vec<f32> = l
                    .split_whitespace()
                    .filter_map(|x| x.parse().ok())
                    .collect();
                (v.len() == 3).then(|| [v[0], v[1], v[2]])
            })
            .collect();
        let (mean, p95) = trace_cloud_against(&points, &truth)
            .unwrap_or_else(|| panic!("{case}: no line traced"));
        // Measured, not yet within a crown's tolerance (see the margin issue's note).
        // C002's drawn line is where the axial wall meets the tissue (a concave junction),
        // under an occlusal-axial line angle of 60-86 degrees that the tracer took for the
        // line (3.0 mm off) until the crown's top edge was recognised: asserted loosely, so
        // that does not come back. C011's frame cannot be guessed from the cloud: reported.
        eprintln!(
            "{case}: {} points, detected vs true line: mean {mean:.2} mm, p95 {p95:.2} mm",
            points.len()
        );
        if case.starts_with("C002") {
            assert!(mean <= 0.5, "{case}: traced {mean} mm off the drawn line");
        }
    }
}

/// The points of a phantom preparation's mesh within 6 mm of its true line, without the
/// triangles (as a lab's software exports the points around a preparation), traced by the
/// point-cloud path: per preparation, its tooth and the line's mean and 95th percentile
/// distance from the true one, mm.
fn cloud_agreement(phantom: &Phantom) -> Vec<(u8, f32, f32)> {
    phantom
        .truth
        .preparations
        .iter()
        .map(|prep| {
            let points: Vec<[f32; 3]> = phantom
                .scan
                .positions
                .iter()
                .copied()
                .filter(|p| polyline_distance(*p, &prep.margin, true) <= 6.0)
                .collect();
            let (mean, p95) = trace_cloud_against(&points, &prep.margin)
                .unwrap_or_else(|| panic!("tooth {}: no line traced", prep.tooth));
            (prep.tooth, mean, p95)
        })
        .collect()
}

/// A point cloud has no triangles to cut: its sections are the points near each half-plane,
/// joined into profiles. Where a scan's triangles stretch down a steep wall (0.5-1 mm), the
/// points there lie that far apart; and a section holds the neighbour's wall as well as the
/// prepared tooth. Both must stay in the section as pieces of their own, or the trace loses
/// the line (0.7-1.25 mm off on seed 401's two preparations, following the gingiva's
/// junction instead).
#[test]
fn finish_lines_are_traced_on_point_clouds_cut_from_phantoms() {
    for (tooth, mean, p95) in cloud_agreement(&prepared_at(401, 400_000)) {
        assert!(
            mean <= 0.1 && p95 <= 0.2,
            "seed 401, tooth {tooth}: mean {mean:.3} mm, p95 {p95:.3} mm"
        );
    }
}

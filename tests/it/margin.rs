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
    };
    let mut scan = phantom.scan.clone();
    scan.labels = None;
    let case = CaseFile::parse(case.to_string().as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    report_for(&[(scan, String::new())], Some(&case), &loaded, 2)
}

fn prepared(seed: u64) -> Phantom {
    generate(&PhantomSpec {
        seed,
        triangles: 120_000,
        defects: DefectMix::parse("preparations=2").unwrap_or_else(|e| panic!("{e}")),
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
    let report = analyze(&p, &case_for(&p, false));
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

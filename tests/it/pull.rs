//! The `pull-risk` analyzer through the plugin boundary, on phantoms whose crowns bulge over
//! their necks: injected deep undercut locks measured to their true depth, the path of
//! withdrawal estimated near the generator's axis, locks and open embrasures flagged for
//! review from geometry alone, mobility III with a lock asking to reject, and natural crowns
//! left alone. (The exact geometry, a sphere sunk into a plane, is the plugin's unit test.)

use imprint_core::finding::{Finding, FindingKind, Severity};
use imprint_host::case::CaseFile;
use imprint_host::report::Report;
use imprint_host::run::{report_for, Loaded};
use imprint_phantom::{generate, DefectMix, PhantomSpec};

fn with_pull<T>(f: impl FnOnce(&Loaded<'_>) -> T) -> T {
    crate::support::with_plugin("imprint_plugin_pull", f)
}

fn pull_findings(report: &Report) -> Vec<&Finding> {
    report
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::PullRisk)
        .collect()
}

#[test]
fn injected_locks_are_measured_to_their_true_depth() {
    let mut errors = Vec::new();
    for seed in [711, 713] {
        let phantom = generate(&PhantomSpec {
            seed,
            triangles: 150_000,
            defects: DefectMix::parse("locks=3").unwrap_or_else(|e| panic!("{e}")),
            ..Default::default()
        });
        // The generator's axis given, so the depth is the survey's alone.
        let case = serde_json::json!({
            "withdrawal": phantom.truth.occlusal,
            "scans": [{"path": "scan.stl", "role": "scan"}],
        });
        let case = CaseFile::parse(case.to_string().as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        let truth = phantom.truth.clone();
        let report = with_pull(|loaded| {
            report_for(&[(phantom.scan, String::new())], Some(&case), loaded, 2)
        });
        let found = pull_findings(&report);
        for t in truth.defects.iter().filter(|d| d.depth_mm > 0.0) {
            let f = found
                .iter()
                .find(|f| f.tooth == t.tooth)
                .unwrap_or_else(|| panic!("lock on {:?} not reported: {found:#?}", t.tooth));
            assert!(f.severity >= Severity::Major, "{}", f.message);
            assert!(f.message.contains("deep undercut lock"), "{}", f.message);
            errors.push((f.metrics["undercut_depth_mm"] - f64::from(t.depth_mm)).abs());
        }
    }
    errors.sort_by(f64::total_cmp);
    println!("lock depth errors, mm: {errors:.3?}");
    assert!(errors.len() >= 5, "{errors:?}");
    let median = errors[errors.len() / 2];
    assert!(median <= 0.05, "median depth error {median:.3} mm");
    assert!(errors.iter().all(|&e| e <= 0.15), "{errors:?}");
}

#[test]
fn on_phantoms_risky_teeth_are_flagged_and_natural_crowns_are_not() {
    let text = r#"
triangles = 150000
labels = false
[[group]]
name = "geometry only"
first_seed = 701
count = 2
defects = "locks=2,embrasures=1"
[[group]]
name = "with the chart"
first_seed = 721
count = 2
defects = "locks=2,embrasures=1,mobile=2"
[[group]]
name = "natural crowns"
first_seed = 741
count = 2
defects = "bulge=1"
"#;
    let (scores, total) = crate::support::run_suite_with("imprint_plugin_pull", text);
    println!("{}", total.to_text());
    let pull = &total.kinds["pull_risk"];
    // The committed suite (30 such phantoms at 200k) measures 0.95; on these six a missed
    // pair of teeth costs 0.13.
    let recall = pull.recall.unwrap_or(0.0);
    assert!(recall >= 0.85, "{pull:?}");
    assert!(pull.fp <= 1, "{pull:?}");
    for (group, _, score) in &scores {
        if group == "natural crowns" {
            assert!(score.false_alarms <= 1, "{group}: {score:?}");
        }
        // Mobility III with a lock rejects; geometry alone never does.
        let rejected = score.decision.as_deref() == Some("reject");
        let expected = format!("{:?}", score.expected_decision);
        assert_eq!(rejected, expected == "Reject", "{group}: {score:?}");
    }
}

/// Phantom 744: crowns that bulge over their necks (`bulge=1`), 150k triangles.
fn bulging_arch() -> imprint_phantom::Phantom {
    generate(&PhantomSpec {
        seed: 744,
        triangles: 150_000,
        defects: DefectMix::parse("bulge=1").unwrap_or_else(|e| panic!("{e}")),
        ..Default::default()
    })
}

/// The report of `pull-risk` alone on `scan`, every tooth listed (`min_risk` 0), with these
/// parameters set besides.
fn every_tooth(scan: imprint_core::Scan, set: &[(&str, f64)]) -> Report {
    with_pull(|loaded| {
        let mut params = loaded.params.clone();
        if let Some(p) = params.get_mut("pull-risk") {
            p.insert("min_risk".into(), 0.0.into());
            for (key, value) in set {
                p.insert((*key).into(), (*value).into());
            }
        }
        let loaded = Loaded {
            params: &params,
            ..*loaded
        };
        report_for(&[(scan, String::new())], None, &loaded, 2)
    })
}

#[test]
fn the_path_of_withdrawal_is_estimated_near_the_generators_axis() {
    let phantom = bulging_arch();
    let axis = phantom.truth.occlusal;
    let report = every_tooth(phantom.scan, &[]);
    let all = pull_findings(&report);
    assert!(all.len() >= 10, "with min_risk 0 every tooth is listed");
    let f = all[0];
    let w = ["withdrawal_x", "withdrawal_y", "withdrawal_z"].map(|k| f.metrics[k] as f32);
    let cos: f32 = (0..3).map(|k| w[k] * axis[k]).sum();
    let off = cos.clamp(-1.0, 1.0).acos().to_degrees();
    println!("path of withdrawal {off:.2}° off the generator's axis");
    assert!(off <= 5.0, "{off}°");
    assert!(
        f.message.contains("Path of withdrawal estimated"),
        "{}",
        f.message
    );
}

/// A path the survey can only find at the edge of its search range balances nothing: it ran
/// on to its limit (IOSSeg 001_U, 19.3–19.9° of 20). Here the range is narrowed under the
/// phantom's own balance, so the search runs to its edge: the survey measures along the
/// occlusal normal instead and says so.
#[test]
fn a_path_found_only_at_the_edge_of_the_search_is_not_used() {
    let phantom = bulging_arch();
    let tilt_with = |max_tilt: f64| {
        let report = every_tooth(phantom.scan.clone(), &[("max_tilt_deg", max_tilt)]);
        let f = pull_findings(&report)[0].clone();
        (f.metrics["withdrawal_tilt_deg"], f.message)
    };
    let (free, _) = tilt_with(20.0);
    let (narrow, message) = tilt_with(0.5 * free);
    println!(
        "estimated {free:.2}°; within {:.2}°: {narrow:.2}°",
        0.5 * free
    );
    assert!(
        free > 2.0,
        "the phantom's balance lies {free}° off the normal"
    );
    assert_eq!(narrow, 0.0);
    assert!(
        message.contains("taken along the occlusal normal"),
        "{message}"
    );
}

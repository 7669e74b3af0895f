//! The `bite` analyzer through the plugin boundary, on bite phantoms (an upper and a lower
//! arch generated in occlusion, with a buccal or wax record): misregistrations at the
//! issue's threshold found, correct bites passed, the true relation recovered, clearance over
//! a preparation measured, the contact map painted; and through the CLI, a case whose
//! exported arches disagree with their record sent to review.

use imprint_core::finding::{FindingKind, Severity};
use imprint_host::run::Loaded;
use imprint_phantom::bite::{generate_bite, BiteRecord, BiteSpec, Motion};
use imprint_phantom::bitescore::{score_bite, BiteScore};
use std::path::PathBuf;
use std::process::Command;

fn with_bite<T>(f: impl FnOnce(&Loaded<'_>) -> T) -> T {
    crate::support::with_plugin("imprint_plugin_bite", f)
}

fn spec(seed: u64, record: BiteRecord, misregistration: Option<Motion>) -> BiteSpec {
    BiteSpec {
        seed,
        triangles: 60_000,
        record,
        misregistration,
        preparations: 0,
        tight_clearance: false,
    }
}

fn score(loaded: &Loaded<'_>, spec: &BiteSpec) -> BiteScore {
    let phantom = generate_bite(spec);
    let report = imprint_host::suite::analyze_bite_case(&phantom, false, loaded, 2);
    score_bite(&phantom, &report.findings)
}

#[test]
fn misregistrations_at_the_threshold_are_found_and_correct_bites_pass() {
    with_bite(|loaded| {
        let cases = [
            spec(31, BiteRecord::Buccal, Some(Motion::of_size(31, 0.3, 0.0))),
            spec(32, BiteRecord::Wax, Some(Motion::of_size(32, 0.0, 2.0))),
            spec(33, BiteRecord::Buccal, None),
            spec(34, BiteRecord::Wax, None),
        ];
        for case in &cases {
            let s = score(loaded, case);
            let error = s.recovery_error_mm.unwrap_or(f64::INFINITY);
            assert!(
                error <= 0.05,
                "seed {}: the registration is {error} mm off the true relation",
                case.seed
            );
            if s.misregistered {
                assert!(
                    s.misregistration_reported,
                    "seed {} missed: {s:?}",
                    case.seed
                );
            } else {
                assert!(
                    s.false_alarms.is_empty() && !s.misregistration_reported,
                    "seed {}: false alarms {:?}",
                    case.seed,
                    s.false_alarms
                );
            }
            // The contacts found are the true ones (tooth numbers from the estimated map).
            let [both, only_report, only_truth] = s.contact_pairs;
            assert!(
                both > 0 && only_report + only_truth <= both / 2,
                "seed {}: contact pairs {:?}",
                case.seed,
                s.contact_pairs
            );
        }
    });
}

#[test]
fn clearance_over_a_preparation_is_measured_and_too_little_is_flagged() {
    with_bite(|loaded| {
        for (seed, tight) in [(41, true), (42, false)] {
            let case = BiteSpec {
                preparations: 1,
                tight_clearance: tight,
                ..spec(seed, BiteRecord::Buccal, None)
            };
            let s = score(loaded, &case);
            let (tooth, truth, got) = s.clearances[0];
            let got = got.unwrap_or_else(|| panic!("no clearance reported for {tooth}"));
            assert!(
                (got - f64::from(truth)).abs() < 0.05,
                "{tooth}: clearance {got} mm, truly {truth} mm"
            );
            let [right, wrong, missed] = s.clearance_calls;
            assert_eq!((wrong, missed), (0, 0), "seed {seed}: {s:?}");
            assert_eq!(right, usize::from(tight), "seed {seed}: {s:?}");
        }
    });
}

#[test]
fn without_a_record_an_arch_pushed_into_its_antagonist_is_flagged() {
    with_bite(|loaded| {
        let phantom = generate_bite(&spec(51, BiteRecord::None, None));
        let report = imprint_host::suite::analyze_bite_case(&phantom, false, loaded, 2);
        let s = score_bite(&phantom, &report.findings);
        assert!(s.false_alarms.is_empty(), "{:?}", s.false_alarms);
        // The bite scan is not there, and nothing asked to register one.
        let summary = report
            .findings
            .iter()
            .find(|f| f.kind == FindingKind::BiteRegistration)
            .unwrap_or_else(|| panic!("no registration summary"));
        assert!(
            summary.message.contains("as exported"),
            "{}",
            summary.message
        );

        // A 0.6 mm push straight up (mouth frame) drives the lower cusps into the upper ones.
        let pushed = BiteSpec {
            misregistration: Some(Motion {
                shift: [0.0, 0.0, 0.6],
                rotation_deg: 0.0,
                axis: [1.0, 0.0, 0.0],
            }),
            ..spec(51, BiteRecord::None, None)
        };
        let phantom = generate_bite(&pushed);
        let report = imprint_host::suite::analyze_bite_case(&phantom, false, loaded, 2);
        let deep: Vec<_> = report
            .findings
            .iter()
            .filter(|f| f.kind == FindingKind::BitePenetration)
            .collect();
        assert!(!deep.is_empty(), "no penetration: {:?}", report.findings);
        assert!(deep.iter().all(|f| f.severity == Severity::Major
            && f.metrics.get("depth_mm").is_some_and(|d| *d > 0.3)));
    });
}

fn imprint() -> PathBuf {
    crate::support::build_dir().join(format!("imprint{}", std::env::consts::EXE_SUFFIX))
}

#[test]
fn cli_sends_a_misregistered_case_to_review_and_paints_the_contacts() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let case = dir.path().join("case");
    let out = Command::new(imprint())
        .args([
            "phantom",
            "--seed",
            "61",
            "--triangles",
            "60000",
            "--bite",
            "wax",
        ])
        .args(["--misregister", "0.4,1"])
        .arg("--out")
        .arg(&case)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let heat = dir.path().join("heat.ply");
    let out = Command::new(imprint())
        .arg("analyze")
        .args(["upper.stl", "lower.stl", "bite.stl"].map(|f| case.join(f)))
        .arg("--case")
        .arg(case.join("case.json"))
        .arg("--plugins")
        .arg(crate::support::plugin_lib("imprint_plugin_bite"))
        .arg("--colored-ply")
        .arg(&heat)
        .args(["--format", "json"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(10), "review expected: {stderr}");
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    let kinds: Vec<&str> = report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"bite_misregistration"), "{kinds:?}");
    // The bite record is an input, not a scan analyzed on its own.
    let runs = report["runs"].as_array().cloned().unwrap_or_default();
    assert!(runs.iter().all(|r| r["scan"] != 2), "{runs:?}");
    // The lower arch's heat map shows the contacts in blue.
    let lower = dir.path().join("heat_1_lower.ply");
    let painted = imprint_core::io::load(&lower).unwrap_or_else(|e| panic!("{e}"));
    let blue = painted
        .colors
        .unwrap_or_default()
        .iter()
        .filter(|c| **c == imprint_host::heatmap::CONTACT)
        .count();
    assert!(blue > 20, "{blue} contact vertices painted");
}

#[test]
fn cli_names_a_bad_misregistration() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new(imprint())
        .args([
            "phantom",
            "--seed",
            "1",
            "--bite",
            "buccal",
            "--misregister",
            "0.3,x",
        ])
        .arg("--out")
        .arg(dir.path())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("misregister") && stderr.contains("`x`"),
        "{stderr}"
    );
}

/// The real intraoral pair in `../shared/scans` was exported each arch in its own frame
/// (both with the teeth towards +Y): the analyzer must say the arches are not in their bite
/// relation rather than report their overlap tooth by tooth.
#[test]
fn real_arches_exported_in_separate_frames_are_not_judged_as_a_bite() {
    let Some(dir) = crate::support::shared_scans() else {
        return;
    };
    let pair = dir.join("real/iosseg_fasttgcn");
    let (upper, lower) = (pair.join("001_U.ply"), pair.join("001_L.ply"));
    if !upper.exists() || !lower.exists() {
        eprintln!("skipped: no IOSSeg pair in {}", pair.display());
        return;
    }
    let case = serde_json::json!({
        "scans": [{"path": "001_U.ply", "role": "upper"}, {"path": "001_L.ply", "role": "lower"}],
        "scanned": "intraoral",
    });
    let case: imprint_host::case::CaseFile =
        serde_json::from_value(case).unwrap_or_else(|e| panic!("{e}"));
    let scans: Vec<(imprint_core::Scan, String)> = [upper, lower]
        .iter()
        .map(|p| {
            (
                imprint_core::io::load(p).unwrap_or_else(|e| panic!("{e}")),
                String::new(),
            )
        })
        .collect();
    let report = with_bite(|loaded| imprint_host::run::report_for(&scans, Some(&case), loaded, 2));
    let kinds: Vec<FindingKind> = report.findings.iter().map(|f| f.kind).collect();
    assert!(kinds.contains(&FindingKind::BiteUnstable), "{kinds:?}");
    assert!(!kinds.contains(&FindingKind::BitePenetration), "{kinds:?}");
}

//! The spine end to end: plugins built by the workspace, loaded as dynamic libraries (never
//! linked in), run on a scan, and the report they produce. Needs `cargo build --workspace`
//! first (the README's test command does it).

use imprint_core::io::write_stl_binary;
use imprint_core::shapes::icosphere;
use imprint_host::report::{Decision, Report, RunStatus};
use imprint_host::run::{analyze, AnalyzeOptions};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The directory cargo puts the workspace's libraries and the `imprint` binary in.
use crate::support::build_dir;

fn lib(name: &str) -> PathBuf {
    crate::support::plugin_lib(name)
}

/// A sphere of radius 5 with one vertex pulled out 2 mm: one spike.
fn spiky_scan(dir: &Path) -> PathBuf {
    let (mut p, t) = icosphere(5.0, 3);
    p[100] = p[100].map(|c| c * 1.4);
    let path = dir.join("spiky.stl");
    let mut f = std::fs::File::create(&path).unwrap_or_else(|e| panic!("{e}"));
    write_stl_binary(&p, &t, &mut f).unwrap_or_else(|e| panic!("{e}"));
    path
}

fn run(scan: &Path, plugins: Vec<PathBuf>, set: &[&str]) -> Report {
    let opts = AnalyzeOptions {
        scans: vec![scan.to_path_buf()],
        plugin_paths: plugins,
        set: set.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    };
    analyze(&opts).unwrap_or_else(|e| panic!("{e}"))
}

fn run_of<'r>(r: &'r Report, id: &str) -> &'r imprint_host::report::RunRecord {
    r.runs
        .iter()
        .find(|x| x.analyzer == id)
        .unwrap_or_else(|| panic!("no run of {id}: {:?}", r.runs))
}

#[test]
fn spikes_finds_the_pulled_vertex_through_the_plugin_boundary() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let r = run(
        &spiky_scan(dir.path()),
        vec![lib("imprint_plugin_spikes")],
        &[],
    );
    assert_eq!(run_of(&r, "spikes").status, RunStatus::Ok);
    assert_eq!(r.findings.len(), 1, "{:?}", r.findings);
    let f = &r.findings[0];
    let (p, _) = icosphere(5.0, 3);
    let pulled = p[100].map(|c| c * 1.4);
    let off = (0..3)
        .map(|k| (f.center[k] - pulled[k]).abs())
        .fold(0.0, f32::max);
    assert!(
        off < 1e-4,
        "spike reported at {:?}, pulled vertex at {pulled:?}",
        f.center
    );
    assert!((f.size_mm - 2.0).abs() < 0.3, "spike height {}", f.size_mm);
    assert_eq!(
        r.decision,
        Decision::Review,
        "a major spike asks for review"
    );
}

#[test]
fn a_panicking_plugin_is_recorded_and_the_others_findings_kept() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let scan = spiky_scan(dir.path());
    let r = run(
        &scan,
        vec![
            lib("imprint_plugin_spikes"),
            lib("imprint_testplugin_fixture"),
        ],
        &["fixture.behavior=panic"],
    );
    let fixture = run_of(&r, "fixture");
    assert_eq!(fixture.status, RunStatus::Failed);
    assert!(
        fixture
            .error
            .as_deref()
            .unwrap_or("")
            .contains("panicked: fixture was asked to panic"),
        "{fixture:?}"
    );
    assert_eq!(run_of(&r, "spikes").findings, 1);
    assert!(r.partial);
    assert_eq!(r.exit_code(), imprint_host::exit::PARTIAL);
    for behavior in ["error", "bad_findings"] {
        let r = run(
            &scan,
            vec![lib("imprint_testplugin_fixture")],
            &[&format!("fixture.behavior={behavior}")],
        );
        assert_eq!(
            run_of(&r, "fixture").status,
            RunStatus::Failed,
            "{behavior}"
        );
        assert!(r.findings.is_empty());
    }
}

#[test]
fn a_plugin_built_against_a_changed_interface_is_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let r = run(
        &spiky_scan(dir.path()),
        vec![
            lib("imprint_testplugin_bad_abi"),
            lib("imprint_plugin_spikes"),
        ],
        &[],
    );
    let refused = &r.provenance.refused_plugins;
    assert_eq!(refused.len(), 1);
    assert!(
        refused[0].reason.contains("changed plugin interface"),
        "{}",
        refused[0].reason
    );
    assert!(!refused[0].reason.contains('\n'));
    assert!(
        refused[0].detail.lines().count() > 20,
        "the full layout diff is kept for the log"
    );
    assert_eq!(
        run_of(&r, "spikes").status,
        RunStatus::Ok,
        "the others still run"
    );
}

#[test]
fn two_plugins_from_two_directories_both_run_and_see_the_shared_bvh() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for d in [&a, &b] {
        std::fs::create_dir_all(d).unwrap_or_else(|e| panic!("{e}"));
    }
    let ext = std::env::consts::DLL_EXTENSION;
    std::fs::copy(
        lib("imprint_plugin_spikes"),
        a.join(format!("libimprint_plugin_spikes.{ext}")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(
        lib("imprint_testplugin_fixture"),
        b.join(format!("libimprint_plugin_fixture.{ext}")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let r = run(&spiky_scan(dir.path()), vec![a, b], &[]);
    assert_eq!(r.runs.len(), 2);
    assert!(
        r.runs.iter().all(|x| x.status == RunStatus::Ok),
        "{:?}",
        r.runs
    );
    let fixture = r
        .findings
        .iter()
        .find(|f| f.analyzer == "fixture")
        .expect("fixture finding");
    assert_eq!(fixture.message, "fixture saw 642 vertices");
    assert_eq!(
        fixture.metrics.get("closest_distance"),
        Some(&0.0),
        "BVH query across the boundary"
    );
    let ids: Vec<&str> = r.findings.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids, ["F0001", "F0002"]);
}

#[test]
fn cli_lists_plugins_and_writes_a_report_with_exit_codes() {
    let imprint = build_dir().join(format!("imprint{}", std::env::consts::EXE_SUFFIX));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let list = Command::new(&imprint)
        .args(["plugins", "list", "--json"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(list.status.success());
    let rows: serde_json::Value =
        serde_json::from_slice(&list.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        rows.as_array()
            .is_some_and(|r| r.iter().any(|p| p["manifest"]["id"] == "spikes")),
        "{rows}"
    );

    let scan = spiky_scan(dir.path());
    let out = dir.path().join("r.json");
    let status = Command::new(&imprint)
        .args([
            "analyze",
            &scan.to_string_lossy(),
            "--only",
            "spikes",
            "--out",
            &out.to_string_lossy(),
        ])
        .status()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(status.code(), Some(imprint_host::exit::REVIEW));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out).unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report["schema"], "imprint.report/1");
    assert_eq!(report["findings"][0]["kind"], "spike");

    let bad = dir.path().join("bad.stl");
    std::fs::write(
        &bad,
        b"solid x\nfacet normal 0 0 1\nouter loop\nvertex 0 0\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let o = Command::new(&imprint)
        .args(["analyze", &bad.to_string_lossy()])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(o.status.code(), Some(imprint_host::exit::INVALID_INPUT));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad.stl") && err.contains("line 4"), "{err}");
    let o = Command::new(&imprint)
        .args(["analyze", &scan.to_string_lossy(), "--set", "nope"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(o.status.code(), Some(imprint_host::exit::USAGE));
}

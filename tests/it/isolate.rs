//! Worker mode (`--isolate`): a plugin that segfaults, aborts, spins forever, allocates
//! without bound, prints garbage or returns malformed findings costs only its own result.
//! The host survives each, the other analyzer's findings are all there, the run record
//! says what happened, the report is partial (and so at least review), and a hung plugin
//! is stopped at its time limit. In process, a panicking plugin is survived too.

use imprint_host::report::{Decision, Report, RunStatus};
use imprint_host::run::{analyze, AnalyzeOptions};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn imprint() -> PathBuf {
    crate::support::build_dir().join(format!("imprint{}", std::env::consts::EXE_SUFFIX))
}

/// A small phantom with three spikes (all found by `spikes` at this seed), as a binary STL
/// in `dir`.
fn scan(dir: &std::path::Path) -> PathBuf {
    let phantom = imprint_phantom::generate(&imprint_phantom::PhantomSpec {
        seed: 9,
        triangles: 60_000,
        defects: imprint_phantom::DefectMix::parse("spikes=3").unwrap_or_else(|e| panic!("{e}")),
        ..Default::default()
    });
    let mut bytes = Vec::new();
    imprint_core::io::write_stl_binary(
        &phantom.scan.positions,
        &phantom.scan.triangles,
        &mut bytes,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join("scan.stl");
    std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{e}"));
    path
}

fn run(scan: &std::path::Path, behavior: &str, isolate: bool) -> Report {
    let opts = AnalyzeOptions {
        scans: vec![scan.to_path_buf()],
        plugin_paths: vec![
            crate::support::plugin_lib("imprint_testplugin_fixture"),
            crate::support::plugin_lib("imprint_plugin_spikes"),
        ],
        set: vec![format!("fixture.behavior={behavior}")],
        threads: 2,
        isolation: isolate.then(|| imprint_host::isolate::Limits {
            timeout: Duration::from_secs(4),
            memory_mb: Some(1024),
            exe: Some(imprint()),
        }),
        ..Default::default()
    };
    analyze(&opts).unwrap_or_else(|e| panic!("{e}"))
}

fn status(report: &Report, id: &str) -> RunStatus {
    report
        .runs
        .iter()
        .find(|r| r.analyzer == id)
        .map(|r| r.status)
        .unwrap_or_else(|| panic!("no run of {id}: {:?}", report.runs))
}

fn spikes_found(report: &Report) -> usize {
    report
        .findings
        .iter()
        .filter(|f| f.analyzer == "spikes")
        .count()
}

#[test]
fn each_faulty_plugin_costs_only_its_own_result_in_worker_mode() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let scan = scan(dir.path());
    let baseline = run(&scan, "ok", true);
    assert_eq!(
        status(&baseline, "fixture"),
        RunStatus::Ok,
        "{:?}",
        baseline.runs
    );
    assert_eq!(status(&baseline, "spikes"), RunStatus::Ok);
    let spikes = spikes_found(&baseline);
    assert!(spikes >= 1, "{:#?}", baseline.findings);
    assert!(!baseline.partial);
    for (behavior, expected) in [
        ("segfault", RunStatus::Crashed),
        ("abort", RunStatus::Crashed),
        ("spin", RunStatus::TimedOut),
        ("alloc", RunStatus::OutOfMemory),
        ("bad_findings", RunStatus::Failed),
        ("panic", RunStatus::Failed),
    ] {
        let start = Instant::now();
        let report = run(&scan, behavior, true);
        let took = start.elapsed();
        assert_eq!(
            status(&report, "fixture"),
            expected,
            "{behavior}: {:?}",
            report.runs
        );
        assert_eq!(status(&report, "spikes"), RunStatus::Ok, "{behavior}");
        assert_eq!(
            spikes_found(&report),
            spikes,
            "{behavior}: the others' findings"
        );
        assert!(report.partial, "{behavior}");
        assert!(report.decision >= Decision::Review, "{behavior}");
        let record = report.runs.iter().find(|r| r.analyzer == "fixture");
        let why = record.and_then(|r| r.error.clone()).unwrap_or_default();
        assert!(!why.is_empty(), "{behavior}: no reason");
        // Within the 4 s limit plus a margin for the workers' start and the scan's load.
        assert!(took < Duration::from_secs(12), "{behavior} took {took:?}");
        println!("{behavior}: {why} ({took:.1?})");
    }
    // A plugin that prints garbage cannot corrupt its results: they travel in a file.
    let noisy = run(&scan, "print_garbage", true);
    assert_eq!(status(&noisy, "fixture"), RunStatus::Ok, "{:?}", noisy.runs);
    assert!(noisy
        .findings
        .iter()
        .any(|f| f.message.starts_with("fixture printed garbage")));
    assert_eq!(spikes_found(&noisy), spikes);
}

#[test]
fn in_process_a_panicking_plugin_is_survived() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let scan = scan(dir.path());
    let report = run(&scan, "panic", false);
    assert_eq!(status(&report, "fixture"), RunStatus::Failed);
    assert!(spikes_found(&report) >= 1);
    assert!(report.partial);
}

//! QA-station runs: `imprint batch` over a folder (a report per case, a failed row for a bad
//! file, the summary, a resumed batch skipping what is up to date) and `imprint watch` with
//! files arriving while it runs (one still being written, one malformed), stopped by SIGINT.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn imprint() -> PathBuf {
    crate::support::build_dir().join(format!("imprint{}", std::env::consts::EXE_SUFFIX))
}

/// A small phantom's binary STL bytes (its defects drawn from the seed).
fn scan_bytes(seed: u64) -> Vec<u8> {
    crate::support::phantom_stl(seed, 20_000, "random")
}

const MALFORMED: &str = "solid x\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\nvertex 1 0\n";

fn summary(out: &Path) -> serde_json::Value {
    let bytes = std::fs::read(out.join("summary.json")).unwrap_or_else(|e| panic!("{e}"));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{e}"))
}

fn rows(out: &Path) -> Vec<serde_json::Value> {
    summary(out)["cases"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn row<'a>(rows: &'a [serde_json::Value], input_ends: &str) -> &'a serde_json::Value {
    rows.iter()
        .find(|r| r["input"].as_str().is_some_and(|i| i.ends_with(input_ends)))
        .unwrap_or_else(|| panic!("no row for {input_ends}: {rows:#?}"))
}

#[test]
fn a_batch_reports_every_case_survives_a_bad_file_and_resumes() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (input, out) = (dir.path().join("in"), dir.path().join("out"));
    std::fs::create_dir_all(input.join("clinic")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(input.join("a.stl"), scan_bytes(1)).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(input.join("clinic/b.stl"), scan_bytes(2)).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(input.join("clinic/bad.stl"), MALFORMED).unwrap_or_else(|e| panic!("{e}"));
    let case = serde_json::json!({"scans": [{"path": "b.stl", "role": "lower"}]});
    std::fs::write(input.join("clinic/case7.json"), case.to_string())
        .unwrap_or_else(|e| panic!("{e}"));
    let run = || {
        Command::new(imprint())
            .args(["batch", "-j", "2", "--plugins"])
            .arg(crate::support::build_dir())
            .arg(&input)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let first = run();
    let text = String::from_utf8_lossy(&first.stderr);
    assert!(text.contains("bad.stl"), "{text}");
    let r = rows(&out);
    // b.stl is the case file's scan, not a case of its own.
    assert_eq!(r.len(), 3, "{r:#?}");
    let bad = row(&r, "bad.stl");
    assert_eq!(bad["status"], "failed");
    let why = bad["error"].as_str().unwrap_or_default();
    assert!(why.contains("bad.stl") && why.contains("line"), "{why}");
    for name in ["a.stl", "case7.json"] {
        let ok = row(&r, name);
        assert_eq!(ok["status"], "ok", "{ok}");
        assert!(ok["decision"].is_string(), "{ok}");
        let report = out.join(ok["report"].as_str().unwrap_or_default());
        assert!(report.exists(), "{}", report.display());
    }
    assert!(out.join("clinic_case7.report.json").exists());
    let csv = std::fs::read_to_string(out.join("summary.csv")).unwrap_or_default();
    assert_eq!(csv.lines().count(), 4, "{csv}");
    // A failed case counts as review for a gate.
    assert!(matches!(first.status.code(), Some(10 | 20)), "{first:?}");

    // Resumed: nothing changed, nothing re-analyzed; a changed scan is.
    std::fs::write(input.join("a.stl"), scan_bytes(3)).unwrap_or_else(|e| panic!("{e}"));
    run();
    let r = rows(&out);
    assert_eq!(row(&r, "case7.json")["status"], "skipped");
    assert_eq!(row(&r, "a.stl")["status"], "ok");
    assert_eq!(row(&r, "bad.stl")["status"], "failed");
}

#[test]
fn a_watched_folder_takes_scans_as_they_arrive_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (input, out) = (dir.path().join("in"), dir.path().join("out"));
    std::fs::create_dir_all(&input).unwrap_or_else(|e| panic!("{e}"));
    let child = Command::new(imprint())
        .args([
            "watch",
            "--interval-ms",
            "100",
            "--settle-ms",
            "800",
            "-j",
            "2",
        ])
        .arg("--plugins")
        .arg(crate::support::build_dir())
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(input.join("first.stl"), scan_bytes(4)).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(input.join("broken.stl"), MALFORMED).unwrap_or_else(|e| panic!("{e}"));
    // A scan written slowly, in pieces 300 ms apart (under the 800 ms settle time).
    let slow = scan_bytes(5);
    {
        use std::io::Write;
        let mut f = std::fs::File::create(input.join("slow.stl")).unwrap_or_else(|e| panic!("{e}"));
        for chunk in slow.chunks(slow.len() / 6 + 1) {
            f.write_all(chunk).unwrap_or_else(|e| panic!("{e}"));
            f.flush().unwrap_or_else(|e| panic!("{e}"));
            std::thread::sleep(Duration::from_millis(300));
        }
    }
    let start = Instant::now();
    let done = |n: usize| out.join("summary.json").exists() && rows(&out).len() >= n;
    while !done(3) && start.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(200));
    }
    let stopped = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    assert!(stopped.is_ok_and(|s| s.success()));
    let result = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    let r = rows(&out);
    assert_eq!(
        r.len(),
        3,
        "{r:#?}\n{}",
        String::from_utf8_lossy(&result.stderr)
    );
    assert_eq!(row(&r, "first.stl")["status"], "ok");
    // Analyzed whole: not taken while it was still growing.
    assert_eq!(row(&r, "slow.stl")["status"], "ok", "{r:#?}");
    assert_eq!(row(&r, "broken.stl")["status"], "failed");
    assert!(input.join("done/first.stl").exists() && input.join("done/slow.stl").exists());
    assert!(input.join("failed/broken.stl").exists());
    assert_eq!(result.status.code(), Some(0), "{result:?}");
    let leftovers: Vec<_> = std::fs::read_dir(&out)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        leftovers
            .iter()
            .all(|n| !n.to_string_lossy().ends_with(".tmp")),
        "{leftovers:?}"
    );
}

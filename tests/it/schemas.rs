//! The committed JSON Schemas match the types, real reports validate against them, and case
//! files are checked with errors that say where. `IMPRINT_BLESS=1 cargo test` rewrites the
//! committed schemas after a deliberate change.

use imprint_host::case::CaseFile;
use imprint_host::run::{analyze, AnalyzeOptions};
use std::path::{Path, PathBuf};

fn schema_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schemas")
        .join(name)
}

fn check_committed(name: &str, generated: serde_json::Value) {
    let path = schema_path(name);
    let text = serde_json::to_string_pretty(&generated).unwrap_or_default() + "\n";
    if std::env::var_os("IMPRINT_BLESS").is_some() {
        std::fs::write(&path, &text).unwrap_or_else(|e| panic!("{e}"));
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == text,
        "{} differs from the types: run IMPRINT_BLESS=1 cargo test schemas",
        path.display()
    );
}

#[test]
fn committed_schemas_match_the_types() {
    check_committed("report.schema.json", imprint_host::report::schema());
    check_committed("case.schema.json", imprint_host::case::schema());
}

fn validator(name: &str) -> jsonschema::Validator {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path(name)).unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}"));
    jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{e}"))
}

fn sphere_scan(dir: &Path) -> PathBuf {
    let (p, t) = imprint_core::shapes::icosphere(5.0, 3);
    let path = dir.join("sphere.stl");
    let mut f = std::fs::File::create(&path).unwrap_or_else(|e| panic!("{e}"));
    imprint_core::io::write_stl_binary(&p, &t, &mut f).unwrap_or_else(|e| panic!("{e}"));
    path
}

fn fixture_lib() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    dir.join(format!(
        "{}imprint_testplugin_fixture.{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_EXTENSION
    ))
}

fn run(scan: &Path, case: Option<PathBuf>) -> imprint_host::report::Report {
    let opts = AnalyzeOptions {
        scans: vec![scan.to_path_buf()],
        case,
        plugin_paths: vec![fixture_lib()],
        ..Default::default()
    };
    analyze(&opts).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn reports_validate_against_the_committed_schema() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let case = dir.path().join("case.json");
    std::fs::write(
        &case,
        r#"{"scans": [{"path": "sphere.stl", "role": "upper"}], "impression": "final",
        "scanned": "cast", "restoration": "crown", "prepared_teeth": [{"tooth": 36}],
        "chart": [{"tooth": 31, "mobility": 2}]}"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let report = run(&sphere_scan(dir.path()), Some(case));
    assert_eq!(report.scans[0].role, "upper");
    let json = serde_json::to_value(&report).unwrap_or_default();
    let v = validator("report.schema.json");
    let errors: Vec<String> = v.iter_errors(&json).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let mut broken = json.clone();
    broken["decision"] = serde_json::json!("maybe");
    assert!(
        !v.is_valid(&broken),
        "the schema must reject a decision it does not know"
    );
}

#[test]
fn an_impression_scan_is_turned_into_the_positive_once() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let scan = sphere_scan(dir.path());
    let volume = |r: &imprint_host::report::Report| r.findings[0].metrics["signed_volume"];
    let cast = run(&scan, None);
    assert!(
        volume(&cast) > 500.0,
        "outward sphere of r=5: {}",
        volume(&cast)
    );
    assert_eq!(cast.scans[0].surface, "as_scanned");
    let case = dir.path().join("case.json");
    std::fs::write(&case, r#"{"scanned": "impression", "material": "vps"}"#)
        .unwrap_or_else(|e| panic!("{e}"));
    let negative = run(&scan, Some(case));
    assert!(
        (volume(&negative) + volume(&cast)).abs() < 1e-6,
        "winding reversed exactly once"
    );
    assert_eq!(negative.scans[0].surface, "positive_from_impression");
}

#[test]
fn case_files_are_checked_with_located_errors() {
    let ok = CaseFile::parse(br#"{"restoration": "bridge", "prepared_teeth": [{"tooth": 14, "margin": [[0,0,0],[1,0,0],[0,1,0]]}]}"#);
    assert!(ok.is_ok(), "{ok:?}");
    let cases: [(&[u8], &str); 6] = [
        (b"{\n  \"restauration\": \"crown\"\n}", "unknown field `restauration`"),
        (b"{\"prepared_teeth\": [{\"tooth\": 19}]}", "prepared_teeth[0].tooth is 19"),
        (b"{\"chart\": [{\"tooth\": 11, \"mobility\": 5}]}", "chart[0].mobility is 5"),
        (b"{\"withdrawal\": [0, 0, 0]}", "not a direction"),
        (b"{\"scans\": [{\"path\": \"a\", \"role\": \"upper\"}, {\"path\": \"b\", \"role\": \"upper\"}]}", "more than one scan"),
        (b"{\"impression\": \"final\",", "EOF"),
    ];
    for (bytes, expected) in cases {
        let err = CaseFile::parse(bytes).expect_err(expected);
        assert!(err.contains(expected), "{err} should mention {expected}");
    }
    let err = CaseFile::parse(b"{\n  \"restauration\": \"crown\"\n}").expect_err("unknown field");
    assert!(err.contains("line 2"), "{err}");
}

#[test]
fn the_bundled_sample_analyzes_to_a_valid_report_through_the_cli() {
    let exe = std::env::current_exe().unwrap_or_default();
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let imprint = bin.join(format!("imprint{}", std::env::consts::EXE_SUFFIX));
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/sample_arch.stl");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("report.json");
    let status = std::process::Command::new(&imprint)
        .arg("analyze")
        .arg(&sample)
        .arg("--out")
        .arg(&out)
        .status()
        .unwrap_or_else(|e| panic!("{e}"));
    // The sample cast has a hole on a tooth and a void: review (exit code 10).
    assert_eq!(status.code(), Some(10));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out).unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}"));
    let errors: Vec<String> = validator("report.schema.json")
        .iter_errors(&report)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(report["scans"][0]["triangles"], 60277);
    assert_eq!(report["decision"], "review");
    assert_eq!(report["scans"][0]["tooth_map"]["jaw"], "lower");
    let on_teeth = report["findings"]
        .as_array()
        .map_or(0, |f| f.iter().filter(|f| f["tooth"].is_u64()).count());
    assert!(on_teeth >= 2, "findings are placed on teeth");
    let loops = imprint_host::inspect::inspect(&sample, Default::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let holes = loops.boundary_loops.iter().filter(|l| !l.is_outer).count();
    assert_eq!(holes, 1, "the sample carries one hole and one trim loop");
}

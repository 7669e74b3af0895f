//! The decision policy: the built-in file parses and decides as documented; bad files fail
//! with the file, line and field; a stricter policy changes the decision; a preliminary
//! impression is judged leniently; two findings of one defect count once; and the CLI takes
//! `--policy`, with the policy's parameters under `--set`.

use imprint_core::finding::{Finding, FindingKind, Severity};
use imprint_core::tooth::Region;
use imprint_host::case::CaseFile;
use imprint_host::policy::{Policy, BUILTIN};
use imprint_host::report::Decision;
use imprint_host::risk::assess;

fn finding(
    id: &str,
    kind: FindingKind,
    severity: Severity,
    tooth: Option<u8>,
    at: [f32; 3],
) -> Finding {
    let mut f = Finding::new(kind, severity, at, 1.0, format!("{} on {tooth:?}", id));
    f.id = id.into();
    f.tooth = tooth;
    f.surface = Some(Region::Occlusal);
    f
}

/// A major finding on `tooth`, `x` mm along the X axis.
fn major(id: &str, kind: FindingKind, tooth: u8, x: f32) -> Finding {
    finding(id, kind, Severity::Major, Some(tooth), [x, 0.0, 0.0])
}

fn case(json: serde_json::Value) -> CaseFile {
    CaseFile::parse(json.to_string().as_bytes()).unwrap_or_else(|e| panic!("{e}"))
}

fn crown(impression: &str) -> CaseFile {
    case(serde_json::json!({
        "restoration": "crown",
        "impression": impression,
        "scans": [{"path": "scan.stl", "role": "lower"}],
    }))
}

#[test]
fn the_builtin_policy_decides_by_severity_and_cites_the_findings() {
    let p = Policy::builtin();
    assert_eq!(p.name, "imprint-default");
    let minor = [finding(
        "F1",
        FindingKind::Spike,
        Severity::Minor,
        Some(36),
        [0.0; 3],
    )];
    let major = [finding(
        "F1",
        FindingKind::Void,
        Severity::Major,
        Some(36),
        [0.0; 3],
    )];
    let critical = [finding(
        "F1",
        FindingKind::MarginHole,
        Severity::Critical,
        Some(36),
        [0.0; 3],
    )];
    let final_crown = crown("final");
    let (_, d, reasons) = assess(&minor, Some(&final_crown), p);
    assert_eq!((d, reasons.len()), (Decision::Accept, 0));
    let (risk, d, reasons) = assess(&major, Some(&final_crown), p);
    assert_eq!(d, Decision::Review);
    assert!((risk.case_risk - 0.45).abs() < 1e-9, "{risk:?}");
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("F1") && r.contains("tooth 36")),
        "{reasons:?}"
    );
    let (_, d, reasons) = assess(&critical, Some(&final_crown), p);
    assert_eq!(d, Decision::Reject);
    assert!(reasons
        .iter()
        .any(|r| r.contains("rule `critical finding on a final impression`")));
    // Preliminary impressions: gross defects only.
    let preliminary = crown("preliminary");
    assert_eq!(assess(&major, Some(&preliminary), p).1, Decision::Accept);
    assert_eq!(assess(&critical, Some(&preliminary), p).1, Decision::Review);
}

#[test]
fn findings_of_one_defect_count_once_and_teeth_add_up_separately() {
    let p = Policy::builtin();
    let c = crown("final");
    // A hole the voids analyzer reports and the margin analyzer reports again, 0.3 mm apart.
    let same = [
        major("F1", FindingKind::Hole, 36, 0.0),
        major("F2", FindingKind::MarginHole, 36, 0.3),
    ];
    let (risk, _, _) = assess(&same, Some(&c), p);
    assert_eq!(risk.defects.len(), 1, "{risk:?}");
    assert_eq!(risk.defects[0].findings, ["F1", "F2"]);
    assert!((risk.case_risk - 0.45).abs() < 1e-9);
    // Two separate majors on one tooth compound; on two teeth they do not.
    let apart = [
        major("F1", FindingKind::Void, 36, 0.0),
        major("F2", FindingKind::Void, 36, 5.0),
        major("F3", FindingKind::Void, 35, 15.0),
    ];
    let (risk, _, _) = assess(&apart, Some(&c), p);
    assert_eq!(risk.teeth[0].tooth, Some(36));
    assert!(
        (risk.teeth[0].risk - (1.0 - 0.55 * 0.55)).abs() < 1e-9,
        "{risk:?}"
    );
    assert!((risk.teeth[1].risk - 0.45).abs() < 1e-9);
}

fn with(edit: impl Fn(&str) -> String) -> Result<Policy, String> {
    Policy::parse(&edit(BUILTIN), "lab.toml").map_err(|e| e.to_string())
}

#[test]
fn bad_policies_fail_with_the_file_line_and_field() {
    let e =
        with(|t| t.replace("review_at = 0.3", "review_at = 0.3\nreview_after = 2")).unwrap_err();
    assert!(
        e.starts_with("policy lab.toml: line ") && e.contains("review_after"),
        "{e}"
    );
    let e = with(|t| t.replace("critical = 0.9", "critical = 1.9")).unwrap_err();
    assert!(e.contains("risk.severity.critical = 1.9"), "{e}");
    let e = with(|t| t.replace("reject_at = 0.85", "reject_at = 0.2")).unwrap_err();
    assert!(e.contains("review_at") && e.contains("reject_at"), "{e}");
    let e =
        with(|t| t.replace("groups = [\"margin\"]", "kinds = [\"margin_bubble\"]")).unwrap_err();
    assert!(e.contains("line ") && e.contains("margin_bubble"), "{e}");
    let e = with(|t| t.replace("imprint.policy/1", "imprint.policy/9")).unwrap_err();
    assert!(e.contains("imprint.policy/9"), "{e}");
    let e = with(|t| t.replace("gingiva = 0.7", "gum = 0.7")).unwrap_err();
    assert!(e.contains("risk.surface.gum"), "{e}");
    let e = with(|t| format!("{t}\n[parameters]\nmin_hole_mm = 1\n")).unwrap_err();
    assert!(e.contains("ID.PARAM"), "{e}");
    let e = with(|t| t.replace("[decision]", "[decision\n")).unwrap_err();
    assert!(e.contains("line "), "{e}");
}

#[test]
fn a_stricter_policy_rejects_what_the_default_sends_to_review() {
    let strict = with(|t| {
        t.replace("review_at = 0.3", "review_at = 0.1")
            .replace("reject_at = 0.85", "reject_at = 0.4")
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let major = [finding(
        "F1",
        FindingKind::Void,
        Severity::Major,
        Some(36),
        [0.0; 3],
    )];
    let c = crown("final");
    assert_eq!(
        assess(&major, Some(&c), Policy::builtin()).1,
        Decision::Review
    );
    let (_, d, reasons) = assess(&major, Some(&c), &strict);
    assert_eq!(d, Decision::Reject, "{reasons:?}");
    // A rule can force review of what the risk would accept.
    let fussy = with(|t| {
        format!("{t}\n[[rule]]\nname = \"any spike\"\nkinds = [\"spike\"]\nmin_severity = \"minor\"\ndecision = \"review\"\n")
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let minor = [finding(
        "F1",
        FindingKind::Spike,
        Severity::Minor,
        Some(36),
        [0.0; 3],
    )];
    assert_eq!(
        assess(&minor, Some(&c), Policy::builtin()).1,
        Decision::Accept
    );
    let (_, d, reasons) = assess(&minor, Some(&c), &fussy);
    assert_eq!(d, Decision::Review);
    assert!(reasons[0].contains("rule `any spike` on F1"), "{reasons:?}");
}

#[test]
fn the_cli_takes_a_policy_and_its_parameters_sit_under_set() {
    use std::process::Command;
    let imprint =
        crate::support::build_dir().join(format!("imprint{}", std::env::consts::EXE_SUFFIX));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let scan = dir.path().join("plane.stl");
    let mesh = imprint_core::shapes::grid_plane(20, 10.0);
    let mut bytes = Vec::new();
    imprint_core::io::write_stl_binary(&mesh.0, &mesh.1, &mut bytes)
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&scan, bytes).unwrap_or_else(|e| panic!("{e}"));
    let policy = dir.path().join("lab.toml");
    std::fs::write(
        &policy,
        format!("{BUILTIN}\n[parameters]\n\"spikes.min_ratio\" = 1.7\n"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("r.json");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "analyze".to_string(),
            scan.to_string_lossy().into(),
            "--only".into(),
            "spikes".into(),
            "--policy".into(),
            policy.to_string_lossy().into(),
            "--out".into(),
            out.to_string_lossy().into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let o = Command::new(&imprint)
            .args(&args)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let r: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&out).unwrap_or_default()).unwrap_or_default();
        (o.status.code(), r)
    };
    let (code, r) = run(&[]);
    assert_eq!(code, Some(imprint_host::exit::ACCEPT));
    assert_eq!(r["provenance"]["parameters"]["spikes"]["min_ratio"], 1.7);
    assert_eq!(r["provenance"]["policy"], "imprint-default 1");
    assert_eq!(r["risk"]["case_risk"], 0.0);
    let (_, r) = run(&["--set", "spikes.min_ratio=1.9"]);
    assert_eq!(r["provenance"]["parameters"]["spikes"]["min_ratio"], 1.9);
    std::fs::write(&policy, "schema = \"imprint.policy/1\"\nname = 3\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let o = Command::new(&imprint)
        .args([
            "analyze",
            &scan.to_string_lossy(),
            "--policy",
            &policy.to_string_lossy(),
        ])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(o.status.code(), Some(imprint_host::exit::USAGE));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("lab.toml") && err.contains("line 2"), "{err}");
}

#[test]
fn the_checklist_names_what_a_crown_case_lacks() {
    use imprint_host::checklist::{check, Inputs};
    use imprint_host::locate::{MapSummary, MapTooth};
    let tooth = |fdi: u8| MapTooth {
        fdi,
        center: [0.0; 3],
        confidence: 1.0,
    };
    // Quadrant 3 ends in 37; quadrant 4 stops at 45 (the molars are not on the scan).
    let map = MapSummary {
        source: "geometry".into(),
        jaw: Some("lower".into()),
        occlusal: None,
        teeth: [31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45]
            .map(tooth)
            .to_vec(),
        missing: Vec::new(),
        notes: Vec::new(),
    };
    let c = case(serde_json::json!({
        "restoration": "crown",
        "impression": "final",
        "prepared_teeth": [{"tooth": 36}],
        "chart": [{"tooth": 46}, {"tooth": 47, "missing": true}],
        "scans": [{"path": "scan.stl", "role": "lower"}],
    }));
    let line = imprint_core::finding::MarginLine {
        tooth: 36,
        scan: 0,
        points: vec![[0.0; 3]; 3],
        length_mm: 30.0,
        source: "detected".into(),
        confidence: 1.0,
        captured_fraction: 1.0,
        case_offset_mm: None,
    };
    let scans = [("lower".to_string(), Some(&map))];
    let (items, findings) = check(&Inputs {
        case: Some(&c),
        scans: &scans,
        margin_lines: &[line],
        findings: &[],
    });
    let status = |name: &str| {
        items
            .iter()
            .find(|i| i.item == name)
            .map(|i| (i.status.as_str(), i.detail.clone()))
            .unwrap_or_else(|| panic!("no {name} in {items:?}"))
    };
    let (s, d) = status("terminal_molars");
    assert!(s == "missing" && d.contains("quadrant(s) 4"), "{d}");
    let (s, d) = status("expected_teeth");
    assert!(
        s == "missing" && d.contains("46") && !d.contains("47"),
        "{d}"
    );
    assert_eq!(status("prepared_teeth").0, "ok");
    assert_eq!(status("contacts").0, "ok");
    assert_eq!(status("opposing_arch").0, "missing");
    assert_eq!(status("bite").0, "missing");
    // The opposing arch and the bite need review for a crown; a short arch is minor here.
    let severities: Vec<Severity> = findings.iter().map(|f| f.severity).collect();
    assert_eq!(
        severities,
        [Severity::Minor, Severity::Major, Severity::Major],
        "{findings:?}"
    );
    assert!(findings
        .iter()
        .all(|f| f.kind == FindingKind::ChecklistMissing));
    // An aligner needs the full arch (major), but no opposing arch or bite.
    let aligner = case(serde_json::json!({
        "restoration": "aligner",
        "scans": [{"path": "scan.stl", "role": "lower"}],
    }));
    let (items, findings) = check(&Inputs {
        case: Some(&aligner),
        scans: &scans,
        margin_lines: &[],
        findings: &[],
    });
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].severity, Severity::Major);
    assert!(items
        .iter()
        .any(|i| i.item == "bite" && i.status == "not_needed"));
}

#[test]
fn the_checklist_asks_for_each_preparations_contacts() {
    use imprint_host::checklist::{check, Inputs};
    use imprint_host::locate::{MapSummary, MapTooth};
    let map = MapSummary {
        source: "geometry".into(),
        jaw: Some("lower".into()),
        occlusal: None,
        teeth: [31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45]
            .map(|fdi| MapTooth {
                fdi,
                center: [0.0; 3],
                confidence: 1.0,
            })
            .to_vec(),
        missing: Vec::new(),
        notes: Vec::new(),
    };
    let scans = [("lower".to_string(), Some(&map))];
    let run = |json: serde_json::Value, found: &[Finding]| {
        let c = case(json);
        let (items, findings) = check(&Inputs {
            case: Some(&c),
            scans: &scans,
            margin_lines: &[],
            findings: found,
        });
        let item = items
            .into_iter()
            .find(|i| i.item == "contacts")
            .unwrap_or_else(|| panic!("no contacts item"));
        (item, findings)
    };
    let crown = |teeth: &[u8]| {
        serde_json::json!({
            "restoration": "crown",
            "prepared_teeth": teeth.iter().map(|t| serde_json::json!({"tooth": t})).collect::<Vec<_>>(),
            "scans": [{"path": "scan.stl", "role": "lower"}],
        })
    };
    // 45's distal neighbour 46 is not on the scan: its contact cannot be designed.
    let (item, findings) = run(crown(&[45]), &[]);
    assert_eq!(item.status, "missing");
    assert!(item.detail.contains("46 (beside 45)"), "{}", item.detail);
    assert!(findings
        .iter()
        .any(|f| f.kind == FindingKind::ChecklistMissing
            && f.severity == Severity::Major
            && f.message.contains("46")));
    // …unless the chart says 46 is gone (a span: no contact to capture).
    let mut spanned = crown(&[45]);
    spanned["chart"] = serde_json::json!([{"tooth": 46, "missing": true}]);
    assert_eq!(run(spanned, &[]).0.status, "ok");
    // A hole on 37's mesial surface is a hole in 36's distal contact; the hole is already a
    // finding, so the item records it without a second one.
    let mut hole = finding("F1", FindingKind::Hole, Severity::Major, Some(37), [0.0; 3]);
    hole.surface = Some(Region::Mesial);
    let (item, findings) = run(crown(&[36]), &[hole.clone()]);
    assert_eq!(item.status, "missing");
    assert!(item.detail.contains("36/37"), "{}", item.detail);
    assert!(findings.iter().all(|f| !f.message.contains("37")));
    // A hole on 37's distal surface does not touch the contact with 36.
    hole.surface = Some(Region::Distal);
    assert_eq!(run(crown(&[36]), &[hole]).0.status, "ok");
    // Two neighbouring preparations: their contact is the lab's to make.
    assert_eq!(run(crown(&[35, 36]), &[]).0.status, "ok");
}

#[test]
fn the_heat_map_paints_each_vertex_by_the_worst_finding_on_it() {
    use imprint_host::heatmap::{colour, severities, FINE};
    let scan = imprint_core::shapes::to_scan(imprint_core::shapes::grid_plane(20, 10.0));
    let mut listed = finding("F1", FindingKind::Void, Severity::Major, None, [0.0; 3]);
    listed.vertices = vec![0, 1];
    let around = finding(
        "F2",
        FindingKind::Hole,
        Severity::Critical,
        None,
        [5.0, 5.0, 0.0],
    );
    let elsewhere = {
        let mut f = finding(
            "F3",
            FindingKind::Spike,
            Severity::Minor,
            None,
            [5.0, 5.0, 0.0],
        );
        f.scan = 1;
        f
    };
    let s = severities(&scan, 0, &[listed, around, elsewhere]);
    assert_eq!(
        (s[0], s[1], s[2]),
        (Some(Severity::Major), Some(Severity::Major), None)
    );
    for (v, p) in scan.positions.iter().enumerate() {
        let d = (p[0] - 5.0).hypot(p[1] - 5.0);
        // `around` is 1 mm across: its radius (0.5 mm) paints the vertices near its centre.
        assert_eq!(
            s[v] == Some(Severity::Critical),
            d <= 0.5,
            "vertex {v} at {d} mm"
        );
    }
    assert_ne!(colour(Severity::Critical), FINE);
    // Through the CLI: one coloured PLY, all fine on a clean plane.
    let imprint =
        crate::support::build_dir().join(format!("imprint{}", std::env::consts::EXE_SUFFIX));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let stl = dir.path().join("plane.stl");
    let mut bytes = Vec::new();
    imprint_core::io::write_stl_binary(&scan.positions, &scan.triangles, &mut bytes)
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&stl, bytes).unwrap_or_else(|e| panic!("{e}"));
    let ply = dir.path().join("heat.ply");
    let o = std::process::Command::new(&imprint)
        .args([
            "analyze",
            &stl.to_string_lossy(),
            "--only",
            "spikes",
            "--colored-ply",
            &ply.to_string_lossy(),
        ])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        o.status.code(),
        Some(imprint_host::exit::ACCEPT),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let painted = imprint_core::io::load(&ply).unwrap_or_else(|e| panic!("{e}"));
    let colours = painted.colors.unwrap_or_default();
    assert_eq!(colours.len(), scan.positions.len());
    assert!(colours.iter().all(|c| *c == FINE));
}

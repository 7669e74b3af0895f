//! Analyzers in C through the C interface (`core/include/imprint_analyzer.h`): the worked
//! example loaded by plugin discovery from its folder, run on a surface with a known strip
//! of needle triangles (found there, its centre snapped onto the surface by the host's
//! closest-point callback), nothing on a clean surface;
//! and libraries built against another major version or with a truncated descriptor refused
//! with a one-line reason.

use imprint_core::finding::{FindingKind, Severity};
use imprint_host::run::report_for;

fn c_examples() -> std::path::PathBuf {
    crate::support::build_dir().join("c-examples")
}

/// A 10 × 10 mm grid (0.25 mm) whose row at y = 5 mm is pulled to within 0.01 mm of the next
/// one between x = 3 and 7 mm: a strip of needle triangles there, when `needles`.
fn surface(needles: bool) -> imprint_core::Scan {
    let (mut p, t) = imprint_core::shapes::grid_plane(40, 10.0);
    if needles {
        for q in p.iter_mut() {
            if (q[1] - 5.0).abs() < 1e-3 && (3.0..=7.0).contains(&q[0]) {
                q[1] = 5.24;
            }
        }
    }
    imprint_core::shapes::to_scan((p, t))
}

fn analyze(scan: imprint_core::Scan) -> imprint_host::report::Report {
    let paths = imprint_host::plugins::discover(&[c_examples()], false);
    crate::support::with_libraries(&paths, 1, |loaded| {
        assert_eq!(loaded.plugins[0].manifest.id, "c-needles");
        assert_eq!(loaded.plugins[0].manifest.interface_version, "c-1.0");
        report_for(&[(scan, String::new())], None, loaded, 2)
    })
}

#[test]
fn the_c_example_finds_the_needle_strip_and_nothing_on_a_clean_surface() {
    let report = analyze(surface(true));
    assert_eq!(
        report.runs[0].status,
        imprint_host::report::RunStatus::Ok,
        "{:?}",
        report.runs
    );
    assert_eq!(report.findings.len(), 1, "{:#?}", report.findings);
    let f = &report.findings[0];
    assert_eq!(f.kind, FindingKind::MeshDefect);
    assert_eq!(f.severity, Severity::Major, "{}", f.message);
    assert!(f.metrics["triangles"] >= 20.0, "{:?}", f.metrics);
    // On the strip, and on the plane (snapped by the closest-point callback).
    assert!(
        (f.center[0] - 5.0).abs() < 0.6 && (f.center[1] - 5.245).abs() < 0.1,
        "{:?}",
        f.center
    );
    assert!(f.center[2].abs() < 1e-3, "{:?}", f.center);
    assert!(f.message.contains("needle"), "{}", f.message);

    let clean = analyze(surface(false));
    assert_eq!(clean.runs[0].status, imprint_host::report::RunStatus::Ok);
    assert!(clean.findings.is_empty(), "{:#?}", clean.findings);
}

#[test]
fn c_plugins_of_another_major_version_or_truncated_are_refused() {
    let lib = |name: &str| {
        crate::support::build_dir().join(format!(
            "{}imprint_testplugin_c_{name}.{}",
            std::env::consts::DLL_PREFIX,
            std::env::consts::DLL_EXTENSION
        ))
    };
    let (plugins, refused) =
        imprint_host::plugins::load_all(&[lib("wrong_major"), lib("truncated")]);
    assert!(plugins.is_empty());
    let reasons: Vec<&str> = refused.iter().map(|r| r.reason.as_str()).collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(
        reasons[0].contains("C interface 2.0") && reasons[0].contains("rebuild"),
        "{reasons:?}"
    );
    assert!(reasons[1].contains("truncated descriptor"), "{reasons:?}");
    assert!(reasons.iter().all(|r| !r.contains('\n')), "{reasons:?}");
}

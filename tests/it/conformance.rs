//! Loader conformance on other projects' test files and on the real sample scans in
//! `../shared/scans/` (skipped when that folder is absent).

use crate::support::{files_with, shared_scans};
use imprint_core::io::{self, labels, LoadErrorKind};
use imprint_core::Scan;

fn load(rel: &str) -> Option<Scan> {
    let dir = shared_scans()?;
    let path = dir.join(rel);
    Some(io::load(&path).unwrap_or_else(|e| panic!("{e}")))
}

/// Files that are valid PLY but not meshes (no vertex or no face element), or OBJ with only
/// lines, and files built to fail: each must fail with a clear, located error.
const EXPECTED_FAILURES: [&str; 11] = [
    "ply-rs/all_atomic_types_ok_ascii.ply",
    "ply-rs/empty_2_ok_ascii.ply",
    "ply-rs/empty_2_ok_little_endian.ply",
    "ply-rs/empty_ok_ascii.ply",
    "ply-rs/exponent_values_ok_ascii.ply",
    "ply-rs/header_min_ok_ascii.ply",
    "ply-rs/leading_spaces_ok_ascii.ply",
    "ply-rs/single_elements_err_ascii.ply",
    "ply-rs/single_elements_ok_ascii.ply",
    "tobj/invalid_index.obj",
    "tobj/lines.obj",
];

#[test]
fn every_conformance_file_loads_or_fails_clearly() {
    let Some(dir) = shared_scans() else { return };
    let root = dir.join("conformance");
    let files = files_with(&root, &["stl", "ply", "obj"]);
    assert!(
        files.len() > 30,
        "expected the conformance files, found {}",
        files.len()
    );
    let mut failures = Vec::new();
    for f in &files {
        let rel = f
            .strip_prefix(&root)
            .unwrap_or(f)
            .to_string_lossy()
            .replace('\\', "/");
        match io::load(f) {
            Ok(scan) => {
                assert!(scan.triangle_count() > 0, "{rel}: loaded with no triangles");
                assert!(
                    !EXPECTED_FAILURES.contains(&rel.as_str()),
                    "{rel} should have failed"
                );
            }
            Err(e) => {
                let line = e.to_string();
                assert!(
                    line.contains(&*f.to_string_lossy()),
                    "error does not name the file: {line}"
                );
                assert!(!line.contains('\n'), "error is not one line: {line}");
                failures.push(rel);
            }
        }
    }
    failures.sort();
    let mut expected: Vec<String> = EXPECTED_FAILURES.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(failures, expected, "the set of files that fail changed");
}

#[test]
fn malformed_files_say_where() {
    let Some(dir) = shared_scans() else { return };
    let err = io::load(dir.join("conformance/tobj/invalid_index.obj")).expect_err("must fail");
    assert!(
        matches!(
            err.kind,
            LoadErrorKind::Malformed {
                at: io::Location::Line(_),
                ..
            }
        ),
        "{err}"
    );
    let err = io::load(dir.join("conformance/ply-rs/single_elements_err_ascii.ply"))
        .expect_err("must fail");
    assert!(err.to_string().contains("line"), "{err}");
}

fn assert_same_shape(a: &Scan, b: &Scan, tol: f32, what: &str) {
    assert_eq!(a.triangles, b.triangles, "{what}: triangles differ");
    assert_eq!(
        a.positions.len(),
        b.positions.len(),
        "{what}: vertex counts differ"
    );
    for (i, (p, q)) in a.positions.iter().zip(&b.positions).enumerate() {
        let d = (0..3).map(|k| (p[k] - q[k]).abs()).fold(0.0, f32::max);
        assert!(
            d <= tol,
            "{what}: vertex {i} differs by {d}: {p:?} vs {q:?}"
        );
    }
}

#[test]
fn same_shape_in_every_encoding() {
    let Some(_) = shared_scans() else { return };
    let pairs = [
        (
            "happly/platonic_shelf_ascii.ply",
            "happly/platonic_shelf.ply",
            1e-5,
        ),
        (
            "happly/platonic_shelf_ascii.ply",
            "happly/platonic_shelf_big_endian.ply",
            1e-5,
        ),
        (
            "numpy-stl/stl_ascii/Cube.stl",
            "numpy-stl/stl_binary/Cube.stl",
            1e-5,
        ),
        (
            "numpy-stl/stl_ascii/HalfDonut.stl",
            "numpy-stl/stl_binary/HalfDonut.stl",
            1e-5,
        ),
        (
            "numpy-stl/stl_ascii/Moon.stl",
            "numpy-stl/stl_binary/Moon.stl",
            1e-5,
        ),
        (
            "numpy-stl/stl_ascii/Moon_Chinese.stl",
            "numpy-stl/stl_binary/Moon.stl",
            1e-5,
        ),
        (
            "numpy-stl/stl_ascii/Star.stl",
            "numpy-stl/stl_binary/Star.stl",
            1e-5,
        ),
        (
            "numpy-stl/stl_binary/Star.stl",
            "numpy-stl/stl_binary/StarWithEmptyHeader.stl",
            0.0,
        ),
        (
            "numpy-stl/stl_binary/Cube.stl",
            "numpy-stl/stl_binary/CubeInvalidUnicode.stl",
            0.0,
        ),
        ("stl_io/bunny_99_ascii.stl", "stl_io/bunny_99.stl", 1e-5),
        (
            "tinyply/icosahedron_ascii.ply",
            "tinyply/icosahedron.ply",
            1e-5,
        ),
        (
            "ply-rs/house_2_ok_ascii.ply",
            "ply-rs/house_2_ok_little_endian.ply",
            0.0,
        ),
    ];
    for (a, b, tol) in pairs {
        let (Some(sa), Some(sb)) = (
            load(&format!("conformance/{a}")),
            load(&format!("conformance/{b}")),
        ) else {
            return;
        };
        assert_same_shape(&sa, &sb, tol, &format!("{a} vs {b}"));
    }
}

#[test]
fn closed_conformance_solids_have_no_boundary() {
    let Some(scan) = load("conformance/numpy-stl/stl_binary/Cube.stl") else {
        return;
    };
    let d = imprint_core::derived::DerivedData::new(&scan);
    assert_eq!((scan.vertex_count(), scan.triangle_count()), (8, 12));
    assert!(d.boundary_loops().loops.is_empty());
    assert_eq!(d.components().count(), 1);
}

#[test]
fn iosseg_scans_carry_face_colour_classes() {
    for jaw in ["001_U.ply", "001_L.ply"] {
        let Some(scan) = load(&format!("real/iosseg_fasttgcn/{jaw}")) else {
            return;
        };
        assert_eq!(scan.triangle_count(), 16_000, "{jaw}");
        let colours = scan.face_colors.as_ref().expect("per-face colours");
        let mut classes: Vec<[u8; 3]> = colours.clone();
        classes.sort_unstable();
        classes.dedup();
        let gingiva = colours.iter().filter(|c| **c == [255, 255, 255]).count();
        assert!(gingiva > 1000, "{jaw}: gingiva faces {gingiva}");
        // 16 tooth colours per arch plus gingiva, and a few stray colours from decimation.
        assert!(
            (14..=40).contains(&classes.len()),
            "{jaw}: {} colour classes",
            classes.len()
        );
        assert!(scan.normals.is_some(), "{jaw}: normals");
    }
}

#[test]
fn sjtu_crowns_load_with_fdi_from_file_names() {
    let Some(dir) = shared_scans() else { return };
    let crowns = files_with(&dir.join("real/sjtu_ref_crowns/tag0/byFDI"), &["obj"]);
    assert_eq!(crowns.len(), 28);
    for f in crowns {
        let name = f.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        let fdi: u8 = name
            .rsplit('=')
            .next()
            .and_then(|n| n.parse().ok())
            .expect("FDI in name");
        assert!(imprint_core::tooth::is_fdi(fdi), "{name}");
        let scan = io::load(&f).unwrap_or_else(|e| panic!("{e}"));
        assert!(scan.triangle_count() > 1000, "{name}");
    }
    for jaw in ["Ref_Lower_Mesh_Tag=0.obj", "Ref_Upper_Mesh_Tag=0.obj"] {
        let Some(scan) = load(&format!("real/sjtu_ref_crowns/tag0/{jaw}")) else {
            return;
        };
        let d = imprint_core::derived::DerivedData::new(&scan);
        // Crown-only jaw: one shell per crown.
        assert!(
            (12..=16).contains(&d.components().count()),
            "{jaw}: {}",
            d.components().count()
        );
    }
}

#[test]
fn teeth3ds_label_json_parses() {
    let Some(dir) = shared_scans() else { return };
    let file = labels::read_label_file(dir.join("real/teeth3ds_labels_only/0EJBIPTC_lower.json"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(file.jaw.as_deref(), Some("lower"));
    assert!(file.labels.len() > 10_000);
    let teeth: std::collections::BTreeSet<u8> =
        file.labels.iter().copied().filter(|&l| l != 0).collect();
    assert!(
        teeth.iter().all(|&t| (31..=48).contains(&t)),
        "lower jaw teeth: {teeth:?}"
    );
    assert!(teeth.len() >= 10);
}

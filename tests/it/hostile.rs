//! Loaders against random, truncated and hostile bytes: never a panic or a hang, always an
//! error that says what is wrong.

use imprint_core::io::{
    parse_bytes, write_ply_binary, write_stl_binary, LoadErrorKind, LoadOptions,
};
use imprint_core::shapes::{icosphere, to_scan};
use proptest::prelude::*;

fn parse(bytes: &[u8]) -> Result<imprint_core::Scan, LoadErrorKind> {
    parse_bytes(bytes, &LoadOptions::default())
}

fn sample_files() -> Vec<Vec<u8>> {
    let (p, t) = icosphere(1.0, 1);
    let mut stl = Vec::new();
    write_stl_binary(&p, &t, &mut stl).unwrap_or_else(|e| panic!("{e}"));
    let mut ply = Vec::new();
    write_ply_binary(&to_scan((p.clone(), t.clone())), &mut ply).unwrap_or_else(|e| panic!("{e}"));
    let mut ascii = String::from("solid s\n");
    let mut obj = String::new();
    for v in &p {
        obj.push_str(&format!("v {} {} {}\n", v[0], v[1], v[2]));
    }
    for f in &t {
        ascii.push_str(" facet normal 0 0 1\n  outer loop\n");
        for &i in f {
            let v = p[i as usize];
            ascii.push_str(&format!("   vertex {} {} {}\n", v[0], v[1], v[2]));
        }
        ascii.push_str("  endloop\n endfacet\n");
        obj.push_str(&format!("f {} {} {}\n", f[0] + 1, f[1] + 1, f[2] + 1));
    }
    ascii.push_str("endsolid s\n");
    vec![stl, ply, ascii.into_bytes(), obj.into_bytes()]
}

#[test]
fn sample_files_round_trip() {
    for bytes in sample_files() {
        let scan = parse(&bytes).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((scan.vertex_count(), scan.triangle_count()), (42, 80));
    }
}

#[test]
fn every_truncation_fails_cleanly_or_loads_a_prefix() {
    for bytes in sample_files() {
        for cut in (0..bytes.len()).step_by(7) {
            match parse(&bytes[..cut]) {
                Ok(scan) => assert!(scan.triangle_count() <= 80),
                Err(e) => assert!(!e.to_string().is_empty()),
            }
        }
    }
}

#[test]
fn binary_stl_truncation_names_the_offset() {
    let bytes = &sample_files()[0];
    let err = parse(&bytes[..bytes.len() - 20]).expect_err("truncated");
    let text = err.to_string();
    assert!(
        text.contains("byte offset") && text.contains("truncated in triangle 79"),
        "{text}"
    );
}

#[test]
fn non_finite_coordinates_are_rejected_with_their_offset() {
    let mut bytes = sample_files()[0].clone();
    bytes[84 + 50 * 3 + 16..84 + 50 * 3 + 20].copy_from_slice(&f32::NAN.to_le_bytes());
    let text = parse(&bytes).expect_err("NaN").to_string();
    assert!(
        text.contains(&format!("byte offset {}", 84 + 50 * 3 + 12)) && text.contains("triangle 3"),
        "{text}"
    );
}

#[test]
fn hostile_headers_fail_fast() {
    let cases: [&[u8]; 5] = [
        b"ply\nformat binary_little_endian 1.0\nelement vertex 4294967295\nproperty float x\nend_header\n\x00\x00",
        b"ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty float y\nproperty float z\nelement face 1\nproperty list uint uint vertex_indices\nend_header\n0 0 0\n4294967295 1 2 3\n",
        b"ply\nformat binary_little_endian 1.0\nelement vertex 1\nproperty float x\nproperty float y\nproperty float z\nelement face 1\nproperty list uint uint vertex_indices\nend_header\n\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff",
        b"solid x\nfacet normal 0 0 1\nouter loop\nvertex 0 0 nan\nvertex 1 0 0\nvertex 0 1 0\nendloop\nendfacet\nendsolid\n",
        b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 -9\n",
    ];
    for bytes in cases {
        let start = std::time::Instant::now();
        let result = parse(bytes);
        assert!(
            result.is_err(),
            "{:?} should fail",
            String::from_utf8_lossy(bytes)
        );
        assert!(start.elapsed().as_secs() < 5, "took {:?}", start.elapsed());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = parse(&bytes);
    }

    #[test]
    fn mutated_files_never_panic(which in 0usize..4, edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..12)) {
        let mut bytes = sample_files()[which].clone();
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        let _ = parse(&bytes);
    }

    #[test]
    fn headers_with_random_tails_never_panic(prefix in 0usize..4, tail in proptest::collection::vec(any::<u8>(), 0..300)) {
        let heads: [&[u8]; 4] = [b"ply\nformat ascii 1.0\n", b"solid x\n", b"v 1 2 3\nf ", b"ply\nformat binary_big_endian 1.0\nelement vertex 2\n"];
        let mut bytes = heads[prefix].to_vec();
        bytes.extend(tail);
        let _ = parse(&bytes);
    }
}

//! Wavefront OBJ: `v` (with optional RGB vertex colours) and `f` (polygons fan-triangulated,
//! `v/vt/vn` forms, negative indices). Other statements are ignored.
//!
//! Written here instead of using `tobj`: tobj renumbers vertices per object in order of first
//! use, which would misalign per-vertex label files (Teeth3DS labels follow the `v` lines).

use super::error::{LoadErrorKind, Location};
use super::text::parse_f32;
use crate::scan::{Scan, ScanSource, SourceFormat};

const OBJ: &str = "OBJ";
const KEYWORDS: [&str; 12] = [
    "v", "vn", "vt", "f", "o", "g", "s", "#", "mtllib", "usemtl", "l", "vp",
];

/// True when the first meaningful lines are OBJ statements.
pub(crate) fn looks_like_obj(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(4096)];
    let Ok(text) =
        std::str::from_utf8(head).or_else(|e| std::str::from_utf8(&head[..e.valid_up_to()]))
    else {
        return false;
    };
    let mut statements = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(8)
        .peekable();
    statements.peek().is_some()
        && statements.all(|l| {
            let word = l.split_whitespace().next().unwrap_or("");
            word.starts_with('#') || KEYWORDS.contains(&word)
        })
}

struct ObjData {
    positions: Vec<[f32; 3]>,
    colors: Vec<[u8; 3]>,
    triangles: Vec<[u32; 3]>,
}

/// Parses an OBJ file held in memory.
pub(crate) fn parse(bytes: &[u8]) -> Result<Scan, LoadErrorKind> {
    let mut data = ObjData {
        positions: Vec::new(),
        colors: Vec::new(),
        triangles: Vec::new(),
    };
    let mut colored = true;
    for (n, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = n + 1;
        let mut words = raw
            .split(|b| b.is_ascii_whitespace())
            .filter(|w| !w.is_empty());
        match words.next() {
            Some(b"v") => colored &= vertex(&mut data, words, line)?,
            Some(b"f") => face(&mut data, words, line)?,
            _ => {}
        }
    }
    let source = ScanSource {
        path: None,
        format: SourceFormat::Obj,
        bytes: 0,
        raw_vertices: data.positions.len(),
    };
    let colors = (colored && !data.positions.is_empty()).then_some(data.colors);
    let mut scan = Scan::from_parts(data.positions, data.triangles, source)?;
    scan.colors = colors;
    Ok(scan)
}

fn malformed(line: usize, message: String) -> LoadErrorKind {
    LoadErrorKind::malformed(OBJ, Location::Line(line), message)
}

/// Reads `v x y z [r g b]`; returns whether a colour was present.
fn vertex<'a>(
    data: &mut ObjData,
    words: impl Iterator<Item = &'a [u8]>,
    line: usize,
) -> Result<bool, LoadErrorKind> {
    let values: Vec<&[u8]> = words.collect();
    let num = |k: usize| -> Result<f32, LoadErrorKind> {
        let tok = values
            .get(k)
            .ok_or_else(|| malformed(line, format!("`v` has {} numbers, needs 3", values.len())))?;
        parse_f32(tok).filter(|v| v.is_finite()).ok_or_else(|| {
            malformed(
                line,
                format!("`{}` is not a finite number", tok.escape_ascii()),
            )
        })
    };
    data.positions.push([num(0)?, num(1)?, num(2)?]);
    if values.len() >= 6 {
        let c = [num(3)?, num(4)?, num(5)?];
        let scale = if c.iter().all(|v| *v <= 1.0) {
            255.0
        } else {
            1.0
        };
        data.colors
            .push(c.map(|v| (v * scale).clamp(0.0, 255.0).round() as u8));
        return Ok(true);
    }
    Ok(false)
}

/// Reads `f a b c …` with `v`, `v/vt`, `v//vn` or `v/vt/vn` corners.
fn face<'a>(
    data: &mut ObjData,
    words: impl Iterator<Item = &'a [u8]>,
    line: usize,
) -> Result<(), LoadErrorKind> {
    let n = data.positions.len() as i64;
    let mut corners = Vec::with_capacity(4);
    for w in words {
        let first = w.split(|&b| b == b'/').next().unwrap_or(w);
        let raw: i64 = std::str::from_utf8(first)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| {
                malformed(
                    line,
                    format!("face corner `{}` is not a vertex index", w.escape_ascii()),
                )
            })?;
        let idx = if raw < 0 { n + raw } else { raw - 1 };
        if raw == 0 || idx < 0 || idx >= n {
            return Err(malformed(
                line,
                format!("face refers to vertex {raw}, but only {n} vertices are defined before it"),
            ));
        }
        corners.push(idx as u32);
    }
    if corners.len() < 3 {
        return Err(malformed(
            line,
            format!(
                "a face has {} corners, at least 3 are needed",
                corners.len()
            ),
        ));
    }
    for k in 1..corners.len() - 1 {
        data.triangles
            .push([corners[0], corners[k], corners[k + 1]]);
    }
    Ok(())
}

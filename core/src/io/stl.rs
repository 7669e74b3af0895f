//! STL: binary (including headers that start with `solid`) and ASCII (several solids).
//!
//! Binary STL is read directly from the byte buffer rather than through `stl_io`: measured at
//! ~0.24 s per 1M triangles, stl_io misses the 0.15 s load-and-weld target, and it cannot
//! report byte offsets. Both encodings feed the same first-occurrence weld.

use super::error::{LoadErrorKind, Location};
use super::text::{parse_f32, Tokens};
use super::weld::{weld, weld_exact, Key, Weld};
use crate::scan::{Scan, ScanSource, ScanWarning, SourceFormat};

const HEADER: usize = 80;
const RECORD: usize = 50;
const BINARY: &str = "binary STL";
const ASCII: &str = "ASCII STL";

fn declared_count(bytes: &[u8]) -> Option<u64> {
    let count = bytes.get(HEADER..HEADER + 4)?;
    Some(u64::from(u32::from_le_bytes([
        count[0], count[1], count[2], count[3],
    ])))
}

/// True when the file is exactly the size its triangle count says a binary STL must be.
pub(crate) fn binary_size_matches(bytes: &[u8]) -> bool {
    declared_count(bytes)
        .is_some_and(|n| (HEADER as u64 + 4) + n * RECORD as u64 == bytes.len() as u64)
}

/// Parses a binary STL.
pub(crate) fn parse_binary(bytes: &[u8], mode: Weld) -> Result<Scan, LoadErrorKind> {
    let Some(count) = declared_count(bytes) else {
        return Err(LoadErrorKind::malformed(
            BINARY,
            Location::Offset(bytes.len() as u64),
            format!(
                "the file is {} bytes, shorter than the 84-byte header and triangle count",
                bytes.len()
            ),
        ));
    };
    let need = (HEADER as u64 + 4) + count * RECORD as u64;
    let have = bytes.len() as u64;
    if have < need {
        let whole = (have - 84) / RECORD as u64;
        return Err(LoadErrorKind::malformed(
            BINARY,
            Location::Offset(84 + whole * RECORD as u64),
            format!(
                "the header declares {count} triangles ({need} bytes) but the file has {have} bytes: truncated in triangle {whole}"
            ),
        ));
    }
    let count = count as usize;
    let records = &bytes[HEADER + 4..];
    let (positions, triangles) = match mode {
        Weld::Exact => {
            let welded = weld_exact(count, |i| key_at(records, i));
            if let Some(i) = welded.first_non_finite {
                return Err(non_finite(records, i));
            }
            (welded.positions, welded.triangles)
        }
        Weld::Tolerance(_) => {
            let soup: Vec<[f32; 3]> = (0..count * 3)
                .map(|i| key_at(records, i).position())
                .collect();
            if let Some(i) = soup.iter().position(|p| !p.iter().all(|c| c.is_finite())) {
                return Err(non_finite(records, i));
            }
            weld(&soup, mode)
        }
    };
    let mut scan = Scan::from_parts(
        positions,
        triangles,
        source(SourceFormat::StlBinary, count * 3),
    )?;
    if have > need {
        scan.warnings.push(ScanWarning::new(
            "stl_trailing_bytes",
            format!(
                "{} bytes after the last declared triangle were ignored",
                have - need
            ),
        ));
    }
    Ok(scan)
}

/// The weld key of corner `i` (triangle `i / 3`, vertex `i % 3`): its coordinates' bit
/// patterns, read straight from the record.
fn key_at(records: &[u8], i: usize) -> Key {
    let at = (i / 3) * RECORD + 12 + 12 * (i % 3);
    let c = &records[at..at + 12];
    Key::from_bits([0, 4, 8].map(|k| u32::from_le_bytes([c[k], c[k + 1], c[k + 2], c[k + 3]])))
}

/// The error for corner `i`'s non-finite coordinate, with its byte offset.
fn non_finite(records: &[u8], i: usize) -> LoadErrorKind {
    let (t, v) = (i / 3, i % 3);
    LoadErrorKind::malformed(
        BINARY,
        Location::Offset((HEADER + 4 + t * RECORD + 12 + 12 * v) as u64),
        format!(
            "triangle {t} vertex {v} has a non-finite coordinate {:?}",
            key_at(records, i).position()
        ),
    )
}

fn source(format: SourceFormat, raw_vertices: usize) -> ScanSource {
    ScanSource {
        path: None,
        format,
        bytes: 0,
        raw_vertices,
    }
}

/// Parses an ASCII STL with one or more `solid … endsolid` blocks.
pub(crate) fn parse_ascii(bytes: &[u8], mode: Weld) -> Result<Scan, LoadErrorKind> {
    let mut parser = AsciiParser {
        tokens: Tokens::new(bytes),
        soup: Vec::new(),
        solids: 0,
    };
    parser.run()?;
    let raw = parser.soup.len();
    let (positions, triangles) = weld(&parser.soup, mode);
    let mut scan = Scan::from_parts(positions, triangles, source(SourceFormat::StlAscii, raw))?;
    if parser.solids > 1 {
        scan.warnings.push(ScanWarning::new(
            "stl_multiple_solids",
            format!("{} solids were merged into one scan", parser.solids),
        ));
    }
    Ok(scan)
}

fn err(line: usize, message: impl Into<String>) -> LoadErrorKind {
    LoadErrorKind::malformed(ASCII, Location::Line(line), message)
}

struct AsciiParser<'a> {
    tokens: Tokens<'a>,
    soup: Vec<[f32; 3]>,
    solids: usize,
}

impl AsciiParser<'_> {
    fn next(&mut self, expected: &str) -> Result<(&[u8], usize), LoadErrorKind> {
        let line = self.tokens.line();
        self.tokens.next().ok_or_else(|| {
            err(
                line,
                format!("the file ends where `{expected}` was expected"),
            )
        })
    }

    fn expect(&mut self, word: &str) -> Result<(), LoadErrorKind> {
        let (tok, line) = self.next(word)?;
        if tok.eq_ignore_ascii_case(word.as_bytes()) {
            Ok(())
        } else {
            Err(err(
                line,
                format!("expected `{word}`, found `{}`", tok.escape_ascii()),
            ))
        }
    }

    fn float(&mut self, what: &str) -> Result<f32, LoadErrorKind> {
        let (tok, line) = self.next(what)?;
        match parse_f32(tok) {
            Some(v) if v.is_finite() => Ok(v),
            _ => Err(err(
                line,
                format!("{what} is `{}`, not a finite number", tok.escape_ascii()),
            )),
        }
    }

    fn run(&mut self) -> Result<(), LoadErrorKind> {
        while let Some((tok, line)) = self.tokens.next() {
            if !tok.eq_ignore_ascii_case(b"solid") {
                return Err(err(
                    line,
                    format!("expected `solid`, found `{}`", tok.escape_ascii()),
                ));
            }
            self.solids += 1;
            self.solid_body(line)?;
        }
        if self.solids == 0 {
            return Err(err(1, "no `solid` found"));
        }
        Ok(())
    }

    /// Reads facets until `endsolid`; the solid's name is any tokens before the first keyword.
    fn solid_body(&mut self, solid_line: usize) -> Result<(), LoadErrorKind> {
        loop {
            let Some((tok, line)) = self.tokens.next() else {
                return Err(err(
                    self.tokens.line(),
                    format!("the solid opened at line {solid_line} has no `endsolid`"),
                ));
            };
            if tok.eq_ignore_ascii_case(b"facet") {
                self.facet()?;
            } else if tok.eq_ignore_ascii_case(b"endsolid") {
                self.tokens.skip_line();
                return Ok(());
            } else if line != solid_line {
                return Err(err(
                    line,
                    format!(
                        "expected `facet` or `endsolid`, found `{}`",
                        tok.escape_ascii()
                    ),
                ));
            }
        }
    }

    fn facet(&mut self) -> Result<(), LoadErrorKind> {
        self.expect("normal")?;
        for axis in ["normal x", "normal y", "normal z"] {
            self.float(axis)?;
        }
        self.expect("outer")?;
        self.expect("loop")?;
        let mut polygon: Vec<[f32; 3]> = Vec::with_capacity(3);
        loop {
            let (tok, line) = self.next("vertex")?;
            if tok.eq_ignore_ascii_case(b"endloop") {
                if polygon.len() < 3 {
                    return Err(err(
                        line,
                        format!(
                            "a facet has {} vertices, at least 3 are needed",
                            polygon.len()
                        ),
                    ));
                }
                break;
            }
            if !tok.eq_ignore_ascii_case(b"vertex") {
                return Err(err(
                    line,
                    format!(
                        "expected `vertex` or `endloop`, found `{}`",
                        tok.escape_ascii()
                    ),
                ));
            }
            polygon.push([
                self.float("vertex x")?,
                self.float("vertex y")?,
                self.float("vertex z")?,
            ]);
        }
        self.expect("endfacet")?;
        for i in 1..polygon.len() - 1 {
            self.soup.extend([polygon[0], polygon[i], polygon[i + 1]]);
        }
        Ok(())
    }
}
